//! Commands held for one connection until it can take them without refusing any.
//!
//! A connection refuses body data while its producer is paused (`SendError::Blocked`), and a
//! refused `SendBody` followed by an accepted `Finish` would end a body short. So body data
//! is handed over only while the request's producer is `Producing`, and at most one
//! `SendBody` until the app is next called between batches (`App::produce` or
//! `App::poll_wake`): the driver feeds a whole batch before that, and the app's callbacks
//! during a batch (`on_event`, `on_producer`) may come before that `SendBody` was fed, when
//! the producer state they see is not yet its consequence. Nothing overtakes a held command,
//! except an `Abort` behind body data that waits for a paused producer: that data is dropped
//! and the abort goes first.

use std::collections::{BTreeMap, VecDeque};

use twine_engine::{AppCommand, ProducerState, RequestId};

/// Commands in order, released as the connection can take them.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    held: VecDeque<AppCommand>,
    /// The last state reported for each request's producer.
    producers: BTreeMap<RequestId, ProducerState>,
    /// A `SendBody` was handed over and the app has not been called between batches since.
    body_handed: bool,
}

impl Outbox {
    pub(crate) fn push(&mut self, command: AppCommand) {
        if let AppCommand::Abort { request } = command {
            let waiting_on_producer = matches!(
                self.held.front(),
                Some(AppCommand::SendBody { request: r, .. })
                    if *r == request
                        && self.producers.get(r) != Some(&ProducerState::Producing)
            );
            if waiting_on_producer {
                // Body data waiting for a paused producer would hold the abort back until the
                // peer reads (or the stall timer): drop it, abort now.
                self.held.retain(|held| request_of(held) != Some(request));
                self.held.push_front(command);
                return;
            }
        }
        self.held.push_back(command);
    }

    /// The app is called between batches: the producer states it knows are current.
    pub(crate) fn between_batches(&mut self) {
        self.body_handed = false;
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
        let mut body_in_batch = self.body_handed
            || commands
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
                    self.body_handed = true;
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

/// The request a command concerns, if any.
fn request_of(command: &AppCommand) -> Option<RequestId> {
    match command {
        AppCommand::Consume { request, .. }
        | AppCommand::SendInformational { request, .. }
        | AppCommand::SendHead { request, .. }
        | AppCommand::SendBody { request, .. }
        | AppCommand::Finish { request }
        | AppCommand::Abort { request }
        | AppCommand::RegisterProducer { request, .. }
        | AppCommand::UnregisterProducer { request } => Some(*request),
        _ => None,
    }
}
