//! Commands held for one connection until it can take them without refusing any.
//!
//! A connection refuses body data while its producer is paused (`SendError::Blocked`), and a
//! refused `SendBody` followed by an accepted `Finish` would end a body short. So body data
//! is handed over only while the request's producer is `Producing`, at most one `SendBody`
//! per batch of commands (the driver feeds a batch, then reports the producer's new state
//! before the app is asked again), and nothing overtakes a held command.

use std::collections::{BTreeMap, VecDeque};

use twine_engine::{AppCommand, ProducerState, RequestId};

/// Commands in order, released as the connection can take them.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    held: VecDeque<AppCommand>,
    /// The last state reported for each request's producer.
    producers: BTreeMap<RequestId, ProducerState>,
}

impl Outbox {
    pub(crate) fn push(&mut self, command: AppCommand) {
        self.held.push_back(command);
    }

    pub(crate) fn producer(&mut self, request: RequestId, state: ProducerState) {
        if state == ProducerState::Stopped {
            self.producers.remove(&request);
        } else {
            self.producers.insert(request, state);
        }
    }

    /// Moves what may go now onto the end of `commands`: whether anything moved, and how many
    /// body bytes.
    pub(crate) fn release(&mut self, commands: &mut Vec<AppCommand>) -> Released {
        let mut body_in_batch = commands
            .iter()
            .any(|c| matches!(c, AppCommand::SendBody { .. }));
        let before = commands.len();
        while let Some(front) = self.held.front() {
            match front {
                AppCommand::SendBody { request, .. } => {
                    // Without a producer (a short error answer) nothing gates the body.
                    let producing = self
                        .producers
                        .get(request)
                        .is_none_or(|state| *state == ProducerState::Producing);
                    if body_in_batch || !producing {
                        break;
                    }
                    body_in_batch = true;
                }
                // Its first state comes after the batch: until then, as if paused.
                AppCommand::RegisterProducer { request, .. } => {
                    self.producers.insert(*request, ProducerState::Paused);
                }
                _ => {}
            }
            commands.extend(self.held.pop_front());
        }
        let body_bytes = commands[before..]
            .iter()
            .map(|c| match c {
                AppCommand::SendBody { data, .. } => data.len() as u64,
                _ => 0,
            })
            .sum();
        Released {
            any: commands.len() > before,
            body_bytes,
        }
    }
}

/// What one release moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Released {
    /// Some command moved.
    pub(crate) any: bool,
    /// Body bytes among them.
    pub(crate) body_bytes: u64,
}
