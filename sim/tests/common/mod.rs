//! Scenarios shared by the harness's integration tests.

use std::time::Duration;

use twine_engine::Config;
use twine_sim::{Action, AppFactory, ClientScript, Fragments, Knobs, ReadPolicy, Scenario, Seed};

/// A busy scenario under the seed's swarm faults: one client uploads fragmented POSTs then
/// a closing stream request, another pipelines a large stream and reads it at a slow rate.
pub(crate) fn busy_scenario(name: &str, factory: AppFactory, seed: Seed) -> Scenario {
    let mut scenario = Scenario::new(name, Config::new(), factory);
    let post = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
    scenario.clients.push(
        ClientScript::new()
            .send_in(
                post.repeat(3),
                Fragments::Random { max: 17 },
                Duration::from_millis(1),
            )
            .then(Action::Sleep(Duration::from_millis(20)))
            .send("GET /stream/30000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    scenario.clients.push(
        ClientScript::new()
            .send(
                "GET /stream/100000 HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            )
            .reading(ReadPolicy::Rate {
                bytes: 700,
                every: Duration::from_millis(3),
            }),
    );
    Knobs::draw(seed).apply(&mut scenario);
    scenario
}
