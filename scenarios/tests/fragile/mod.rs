//! A deliberately fragile scenario, shared by the shrinking and campaign tests: echo, except
//! that a request-body chunk under 8 bytes is a fatal surprise, which only a read cut short by
//! the swarm's read fragmentation can cause.

use std::rc::Rc;

use twine_apps::Echo;
use twine_driver::App;
use twine_engine::{AppCommand, Config, Event, Instant};
use twine_scenarios::catalogue::Entry;
use twine_sim::{ClientScript, Scenario, Seed};

/// Echo, except that a body chunk under 8 bytes is a fatal surprise.
#[derive(Default)]
struct Fragile(Echo);

impl App for Fragile {
    fn on_event(&mut self, now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        if let Event::Body { data, .. } = &event {
            assert!(
                data.len() >= 8,
                "fragile app: a {}-byte body chunk",
                data.len()
            );
        }
        self.0.on_event(now, event, commands);
    }
}

fn build(_: Seed) -> Scenario {
    let app: twine_sim::AppFactory = Rc::new(|| Box::new(Fragile::default()));
    let mut scenario = Scenario::new("shrink/fragile", Config::new(), app);
    // Head and body in two segments: a read returns at most one segment, so the body's first
    // read is a decision of its own, and one cut there is enough to break the app.
    let head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n";
    scenario
        .clients
        .push(ClientScript::new().send(head).send("x".repeat(3000)));
    scenario
}

/// The fragile scenario as a catalogue entry.
pub(crate) const FRAGILE: Entry = Entry {
    family: "shrink",
    name: "fragile",
    about: "a deliberately fragile app",
    seed: 0,
    build,
    expect: |_| Vec::new(),
};
