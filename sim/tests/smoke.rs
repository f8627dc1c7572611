//! A first end-to-end run: echo on the simulated network, one keep-alive client.

use std::rc::Rc;
use std::time::Duration;

use twine_apps::Echo;
use twine_driver::App;
use twine_engine::Config;
use twine_sim::{run, Action, ClientScript, Scenario, Seed};

#[test]
fn echo_round_trip() {
    let app: Rc<dyn Fn() -> Box<dyn App>> = Rc::new(|| Box::new(Echo::new()));
    let mut scenario = Scenario::new("smoke/echo", Config::new(), app);
    scenario.clients.push(
        ClientScript::new()
            .send("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
            .then(Action::Sleep(Duration::from_millis(50)))
            .send("GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    let outcome = run(&scenario, Seed(1));
    println!("{}", outcome.trace.to_text());
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let again = run(&scenario, Seed(1));
    assert_eq!(outcome.trace, again.trace);
}
