//! A run: a scenario (server config, app, scripted clients, faults) and a seed in, a trace and a
//! verdict out.
//!
//! The run drives turmoil's `step()` itself so that network faults (hold, partition, restart)
//! fire at exact ticks and the chaos phase ends at an exact time; after it the liveness phase
//! gives every timer room to fire and checks that everything finished.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use twine_driver::App;
use twine_engine::Config;

use crate::client::{run_client, ClientLog, ClientScript};
use crate::fault::{Chaos, Decision, FaultPlan, Keep, StreamFaults};
use crate::invariants::check;
use crate::rng::{Seed, SimRng};
use crate::server::{serve, ServerEnv, PORT};
use crate::trace::{Event, Recorder, Trace};

/// A network fault at a point in simulated time (turmoil's own faults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetFault {
    /// Hold messages between client and server (they queue).
    Hold,
    /// Release held messages.
    Release,
    /// Drop everything between them; wedges streams with data in flight (notes/turmoil.md
    /// A2.6), so only the engine's timers can end those connections.
    Partition,
    /// Heal a partition.
    Repair,
    /// Restart the server host: its connections drop (FIN or RST), new ones reach a new server.
    RestartServer,
}

/// Message latency between the hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Least delay.
    pub min: Duration,
    /// Most delay (turmoil draws from an exponential curve between them).
    pub max: Duration,
}

impl Latency {
    /// A fixed delay.
    pub const fn fixed(d: Duration) -> Latency {
        Latency { min: d, max: d }
    }
}

/// Everything a run needs besides its seed.
#[derive(Clone)]
pub struct Scenario {
    /// `family/name`.
    pub name: String,
    /// The engine configuration.
    pub config: Config,
    /// The app for each connection.
    pub app: Rc<dyn Fn() -> Box<dyn App>>,
    /// The clients, one connection each, numbered in this order.
    pub clients: Vec<ClientScript>,
    /// Faults for connection n.
    pub faults: FaultPlan,
    /// Network faults at points in time; those after `chaos_phase` are not applied.
    pub net: Vec<(Duration, NetFault)>,
    /// Message latency.
    pub latency: Latency,
    /// When faults stop and the liveness phase begins.
    pub chaos_phase: Duration,
    /// How long the liveness phase may take before the run fails.
    pub liveness_budget: Duration,
    /// Knobs to print at the top of the trace (besides the seed).
    pub knobs: Vec<(String, String)>,
    /// Only these fault decisions may fire (`None`: all); set when a failing schedule is
    /// shrunk or replayed.
    pub keep: Keep,
    /// Sabotage, for proving the checkers can fail: the engine is never told that the
    /// transport blocked.
    pub ignore_transport_blocked: bool,
}

impl Scenario {
    /// A scenario with no client, no fault, 1 ms latency, a 10 s chaos phase and a liveness
    /// budget longer than every default timer (60 s head deadline + 20 s linger + margin).
    pub fn new(
        name: impl Into<String>,
        config: Config,
        app: Rc<dyn Fn() -> Box<dyn App>>,
    ) -> Scenario {
        Scenario {
            name: name.into(),
            config,
            app,
            clients: Vec::new(),
            faults: Rc::new(|_| StreamFaults::default()),
            net: Vec::new(),
            latency: Latency::fixed(Duration::from_millis(1)),
            chaos_phase: Duration::from_secs(10),
            liveness_budget: Duration::from_secs(120),
            knobs: Vec::new(),
            ignore_transport_blocked: false,
            keep: None,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: Seed,
    /// Everything that happened.
    pub trace: Trace,
    /// What each client saw.
    pub clients: Vec<ClientLog>,
    /// Every invariant that failed; empty means the run passed.
    pub violations: Vec<String>,
    /// The fault decisions that fired, in order: the run's fault schedule.
    pub fired: Vec<Decision>,
}

impl Outcome {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The line that reproduces this run.
    pub fn reproduction(&self) -> String {
        format!(
            "reproduce: scenario {} with Seed({})",
            self.scenario, self.seed
        )
    }

    /// Panics with every violation and the reproduction line unless the run passed: the one
    /// call a scenario test needs.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!(
                "{} failed:\n  {}\n{}",
                self.scenario,
                self.violations.join("\n  "),
                self.reproduction()
            );
        }
    }

    /// Adds failed checks made after the run (a scenario's own expectations), to the
    /// violations and to the end of the trace.
    pub fn add_violations(&mut self, violations: Vec<String>) {
        let at = self.trace.entries.last().map_or(0, |e| e.at_nanos);
        for what in &violations {
            let event = Event::Violation { what: what.clone() };
            self.trace.entries.push(crate::trace::Entry {
                at_nanos: at,
                conn: None,
                event,
            });
        }
        self.violations.extend(violations);
    }
}

/// turmoil's TCP window and receive queue, in segments (notes/turmoil.md A2.4).
pub const TCP_CAPACITY: usize = 1024;

/// The simulated wall clock at the start of every run: fixed, so `Date` headers replay.
pub const EPOCH_UNIX_SECS: u64 = 1_700_000_000;

/// Runs `scenario` under `seed`.
pub fn run(scenario: &Scenario, seed: Seed) -> Outcome {
    let recorder = Recorder::new();
    recorder.knob("scenario", &scenario.name);
    recorder.knob("seed", seed);
    for (name, value) in &scenario.knobs {
        recorder.knob(name, value);
    }
    let chaos = Chaos::on();
    let logs: Logs = Rc::new(RefCell::new(vec![
        ClientLog::default();
        scenario.clients.len()
    ]));
    let mut sim = build_sim(scenario, seed);
    let env = ServerEnv {
        config: scenario.config.clone().with_date_origin(EPOCH_UNIX_SECS),
        app: scenario.app.clone(),
        faults: scenario.faults.clone(),
        keep: scenario.keep.clone(),
        seed,
        chaos: chaos.clone(),
        recorder: recorder.clone(),
        ignore_transport_blocked: scenario.ignore_transport_blocked,
    };
    sim.host("server", move || serve(env.clone()));
    add_clients(&mut sim, scenario, seed, &recorder, &logs);
    let mut violations = step_to_the_end(&mut sim, scenario, &chaos, &recorder);
    let clients = logs.borrow().clone();
    if !violations.iter().any(|v| v.starts_with("panic: ")) {
        // After a panic everything else is a consequence of it.
        violations.extend(check(scenario, &recorder.snapshot(), &clients));
        violations.extend(check_backlog(scenario, &recorder));
    }
    for violation in &violations {
        let event = Event::Violation {
            what: violation.clone(),
        };
        recorder.record_at(sim.elapsed(), None, event);
    }
    Outcome {
        fired: recorder.fired(),
        scenario: scenario.name.clone(),
        seed,
        trace: recorder.snapshot(),
        clients,
        violations,
    }
}

/// Each client's log, filled in by its task.
type Logs = Rc<RefCell<Vec<ClientLog>>>;

/// turmoil, seeded from the run's seed, with the fixed epoch and the scenario's latency.
fn build_sim<'a>(scenario: &Scenario, seed: Seed) -> turmoil::Sim<'a> {
    turmoil::Builder::new()
        .rng_seed(SimRng::fork(seed, "turmoil").next_u64())
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_SECS))
        .simulation_duration(scenario.chaos_phase + scenario.liveness_budget)
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(scenario.latency.min)
        .max_message_latency(scenario.latency.max)
        .tcp_capacity(TCP_CAPACITY)
        .build()
}

/// The one client host: every scripted client is a connection in it (turmoil's cost grows
/// with hosts). It ends once every client is done and the server has closed every connection.
fn add_clients(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    seed: Seed,
    recorder: &Recorder,
    logs: &Logs,
) {
    let clients = scenario.clients.clone();
    let recorder = recorder.clone();
    let logs = logs.clone();
    let server_addr = format!("server:{PORT}");
    sim.client("clients", async move {
        let mut tasks = Vec::new();
        for (i, script) in clients.into_iter().enumerate() {
            let conn = u32::try_from(i).unwrap_or(u32::MAX);
            let rng = SimRng::fork(seed, &format!("client/{conn}"));
            let (recorder, addr, logs) = (recorder.clone(), server_addr.clone(), logs.clone());
            tasks.push(tokio::task::spawn_local(async move {
                // One tick first, so the server has bound (notes/turmoil.md A2.5).
                tokio::time::sleep(Duration::from_millis(1)).await;
                let log = run_client(script, &addr, conn, rng, recorder).await;
                logs.borrow_mut()[i] = log;
            }));
        }
        for task in tasks {
            task.await?;
        }
        // Every connection must end: the run goes on until the server has closed them all,
        // by its timers if need be, and fails at the time limit otherwise.
        while recorder.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    });
}

/// Steps the simulation to its end. A panic anywhere (engine, driver, app, harness) fails the
/// run instead of the process: with tokio_unstable turmoil turns a task's panic into one from
/// `step()`, and the first panic's message is the one reported.
fn step_to_the_end(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    chaos: &Chaos,
    recorder: &Recorder,
) -> Vec<String> {
    capture_panic_messages();
    FIRST_PANIC.with(|p| p.borrow_mut().take());
    IN_RUN.with(|r| r.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| drive(sim, scenario, chaos, recorder)));
    IN_RUN.with(|r| r.set(false));
    let first_panic = FIRST_PANIC.with(|p| p.borrow_mut().take());
    match result {
        Ok(Ok(())) => Vec::new(),
        Ok(Err(error)) => vec![format!("run did not complete: {error}")],
        Err(payload) => {
            // The first panic is the cause; tokio's own ("a spawned task panicked") follows.
            let message = first_panic.unwrap_or_else(|| panic_message(payload.as_ref()));
            vec![format!("panic: {message}")]
        }
    }
}

/// The largest single write an app makes (echo's credit, the static app's chunk), plus room
/// for response heads: the engine may hand out that much before it hears of backpressure.
const APP_WRITE_BYTES_MAX: u64 = 64 * 1024 + 4 * 1024;

/// Bounded buffering: bytes handed out by the engine but not yet taken by the socket never
/// exceed the send buffer bound plus one app write.
fn check_backlog(scenario: &Scenario, recorder: &Recorder) -> Vec<String> {
    let bound = scenario.config.limits.send_buffer_bytes_max as u64 + APP_WRITE_BYTES_MAX;
    recorder
        .backlogs()
        .into_iter()
        .filter(|(_, backlog)| backlog.max > bound)
        .map(|(conn, backlog)| {
            let conn = conn.map_or("c?".to_string(), |c| format!("c{c}"));
            format!(
                "{conn}: {} bytes handed out but unwritten at once, over the bound of {bound} \
                 (send_buffer_bytes_max + one app write): backpressure was ignored",
                backlog.max
            )
        })
        .collect()
}

thread_local! {
    /// The first panic message on this thread since the run began.
    static FIRST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// A run is stepping on this thread: its panics become violations (with their message and
    /// place), not noise on stderr.
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once per process, a panic hook that also remembers the first message on each
/// thread, so a run can report the panic that caused its failure.
fn capture_panic_messages() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = match info.location() {
                Some(at) => {
                    format!(
                        "{} at {}:{}",
                        panic_message(info.payload()),
                        at.file(),
                        at.line()
                    )
                }
                None => panic_message(info.payload()),
            };
            let in_run = IN_RUN.with(|r| r.get());
            FIRST_PANIC.with(|p| {
                p.borrow_mut().get_or_insert(message);
            });
            if !in_run {
                previous(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(message), _) => (*message).to_string(),
        (None, Some(message)) => message.clone(),
        (None, None) => "(no message)".to_string(),
    }
}

/// Steps the simulation, firing network faults on time and ending chaos on time.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    chaos: &Chaos,
    recorder: &Recorder,
) -> turmoil::Result {
    let mut net: Vec<(Duration, NetFault)> = scenario.net.clone();
    net.sort_by_key(|(at, _)| *at);
    let mut net = net.into_iter().peekable();
    loop {
        let now = sim.elapsed();
        while let Some((_, fault)) = net.next_if(|(at, _)| *at <= now) {
            // The liveness phase is fault-free: a fault scheduled in it is not applied.
            if chaos.is_on() {
                apply(sim, &fault);
                let what = format!("network: {}", describe(&fault));
                recorder.record_at(now, None, Event::Fault { what });
            }
        }
        if chaos.is_on() && now >= scenario.chaos_phase {
            chaos.calm();
            sim.repair("clients", "server");
            sim.release("clients", "server");
            // Jitter is a fault too: the liveness phase runs at the least latency, fixed.
            sim.set_link_latency("clients", "server", scenario.latency.min);
            recorder.record_at(
                now,
                None,
                Event::Fault {
                    what: "chaos over: faults stop".into(),
                },
            );
        }
        if sim.step()? {
            return Ok(());
        }
    }
}

fn apply(sim: &mut turmoil::Sim<'_>, fault: &NetFault) {
    match fault {
        NetFault::Hold => sim.hold("clients", "server"),
        NetFault::Release => sim.release("clients", "server"),
        NetFault::Partition => sim.partition("clients", "server"),
        NetFault::Repair => sim.repair("clients", "server"),
        NetFault::RestartServer => sim.bounce("server"),
    }
}

fn describe(fault: &NetFault) -> &'static str {
    match fault {
        NetFault::Hold => "hold client↔server",
        NetFault::Release => "release client↔server",
        NetFault::Partition => "partition client↔server",
        NetFault::Repair => "repair client↔server",
        NetFault::RestartServer => "restart server",
    }
}
