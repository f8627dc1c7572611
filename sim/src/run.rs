//! A run: a scenario (server config, app, scripted clients, faults) and a seed in, a trace and a
//! verdict out.
//!
//! The run drives turmoil's `step()` itself so that network faults (hold, partition, restart)
//! fire at exact ticks and the chaos phase ends at an exact time; after it the liveness phase
//! gives every timer room to fire and checks that everything finished.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::client::{run_client, ClientChaos, ClientLog};
use crate::event::{Check, Decision, Event, Fault, NetFault, Violation};
use crate::fault::{Chaos, StreamWorld};
use crate::invariants::check;
use crate::link::Links;
use crate::net::{Network, EPOCH_UNIX_SECS, TCP_CAPACITY};
use crate::pending::ClientWait;
use crate::pending::{Horizon, Pending};
use crate::rng::{Seed, SimRng};
use crate::scenario::{Negotiation, Scenario, Stepping};
use crate::server::{serve, DrainSwitch, ServerEnv, PORT};
use crate::trace::{Entry, Recorder, Trace};

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
    pub violations: Vec<Violation>,
    /// The fault decisions that fired, in order: the run's fault schedule.
    pub fired: Vec<Decision>,
    /// The steps the simulation took (an idle span skipped is one): what the run cost.
    pub steps: u64,
}

impl Outcome {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Every violation, one per line.
    pub fn report(&self) -> String {
        let lines: Vec<String> = self.violations.iter().map(|v| v.to_string()).collect();
        lines.join("\n")
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
                "{} failed:\n{}\n{}",
                self.scenario,
                self.report(),
                self.reproduction()
            );
        }
    }

    /// Adds failed checks made after the run (a scenario's own expectations), to the
    /// violations and to the end of the trace.
    pub fn add_violations(&mut self, violations: Vec<Violation>) {
        let at = self.trace.entries.last().map_or(0, |e| e.at_nanos);
        for violation in &violations {
            let event = Event::Violation {
                violation: Box::new(violation.clone()),
            };
            self.trace.entries.push(Entry {
                at_nanos: at,
                conn: None,
                event,
            });
        }
        self.violations.extend(violations);
    }
}

/// Runs `scenario` under `seed`.
pub fn run(scenario: &Scenario, seed: Seed) -> Outcome {
    let net = Network::new();
    let pending = Pending::new();
    let recorder = Recorder::new(net.clone());
    record_knobs(&recorder, scenario, seed);
    let chaos = Chaos::on();
    let logs: Logs = Rc::new(RefCell::new(vec![
        ClientLog::default();
        scenario.clients.len()
    ]));
    let mut sim = build_sim(scenario, seed);
    let env = ServerEnv {
        config: scenario.config.clone().with_date_origin(EPOCH_UNIX_SECS),
        app: scenario.app.clone(),
        world: StreamWorld {
            plan: scenario.faults.clone(),
            keep: scenario.keep.clone(),
            seed,
            chaos: chaos.clone(),
            recorder: recorder.clone(),
            net: net.clone(),
            pending: pending.clone(),
        },
        pending: pending.clone(),
        sabotage: scenario.sabotage,
        negotiation: scenario.negotiation,
        proxy: scenario.proxy.clone(),
        links: crate::link::Links::with_faults(
            scenario.link_faults,
            seed,
            chaos.clone(),
            recorder.clone(),
        ),
        drain: DrainSwitch::default(),
    };
    if let Some(setup) = &scenario.proxy {
        let world = (recorder.clone(), net.clone(), pending.clone());
        add_origin(&mut sim, setup, world, env.links.clone());
    }
    // The links' shared counters, for the step loop (`env` moves into the server host).
    let (links, drain) = (env.links.clone(), env.drain.clone());
    sim.host("server", move || serve(env.clone()));
    add_clients(
        &mut sim,
        scenario,
        (seed, &chaos),
        (&recorder, &net, &pending),
        &logs,
    );
    let world = Watch {
        chaos: &chaos,
        recorder: &recorder,
        pending: &pending,
        net: &net,
        links: &links,
        drain: &drain,
        steps: Cell::new(0),
    };
    let mut violations = step_to_the_end(&mut sim, scenario, &world);
    let clients = std::mem::take(&mut *logs.borrow_mut());
    let mut trace = recorder.take();
    if !violations.iter().any(|v| v.check == Check::Panic) {
        // After a panic everything else is a consequence of it.
        violations.extend(judge(scenario, &trace, &clients, &net));
    }
    for violation in &violations {
        let event = Event::Violation {
            violation: Box::new(violation.clone()),
        };
        trace.push(sim.elapsed(), event);
    }
    Outcome {
        fired: trace.fired(),
        scenario: scenario.name.clone(),
        seed,
        trace,
        clients,
        violations,
        steps: world.steps.get(),
    }
}

/// The trace's first lines: what the run is, and the knobs a reader needs to replay it.
fn record_knobs(recorder: &Recorder, scenario: &Scenario, seed: Seed) {
    recorder.knob("scenario", &scenario.name);
    recorder.knob("seed", seed);
    for (name, value) in &scenario.knobs {
        recorder.knob(name, value);
    }
    if scenario.negotiation == Negotiation::AlpnH2 {
        recorder.knob("negotiation", "ALPN h2 (HTTP/2 from the first byte)");
    }
}

/// A proxy run's origin host, behind the proxy.
fn add_origin(
    sim: &mut turmoil::Sim<'_>,
    setup: &crate::ProxySetup,
    (recorder, net, pending): (Recorder, Network, Pending),
    links: crate::link::Links,
) {
    let origin = setup.origin.clone();
    // The origin numbers its connections across restarts, so `u0` is one connection.
    let accepted = Rc::new(Cell::new(0));
    sim.host(crate::proxy::ORIGIN.0, move || {
        crate::proxy::serve_origin(
            origin.clone(),
            (recorder.clone(), net.clone(), pending.clone()),
            links.clone(),
            accepted.clone(),
        )
    });
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
    (seed, chaos): (Seed, &Chaos),
    (recorder, net, pending): (&Recorder, &Network, &Pending),
    logs: &Logs,
) {
    let (faults, keep, chaos) = (scenario.client_faults, scenario.keep.clone(), chaos.clone());
    let clients = scenario.clients.clone();
    let (recorder, net, pending) = (recorder.clone(), net.clone(), pending.clone());
    let logs = logs.clone();
    let server_addr = format!("server:{PORT}");
    sim.client("clients", async move {
        let mut tasks = Vec::new();
        for (i, script) in clients.into_iter().enumerate() {
            let conn = u32::try_from(i).unwrap_or(u32::MAX);
            let rng = SimRng::fork(seed, &format!("client/{conn}"));
            let world = (recorder.clone(), net.clone(), pending.clone());
            let client_chaos = ClientChaos {
                faults,
                keep: keep.clone(),
                rng: SimRng::fork(seed, &format!("client/{conn}/faults")),
                chaos: chaos.clone(),
            };
            pending.client(conn, ClientWait::Busy);
            let (addr, logs) = (server_addr.clone(), logs.clone());
            tasks.push(tokio::task::spawn_local(async move {
                // One tick first, so the server has bound (notes/turmoil.md A2.5).
                tokio::time::sleep(Duration::from_millis(1)).await;
                let log = run_client(script, &addr, conn, rng, world, client_chaos).await;
                logs.borrow_mut()[i] = log;
            }));
        }
        for task in tasks {
            task.await?;
        }
        // Every connection must end: the run goes on until the server has closed them all,
        // by its timers if need be, and fails at the time limit otherwise.
        while net.open_connections() > 0 {
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
    world: &Watch<'_>,
) -> Vec<Violation> {
    capture_panic_messages();
    FIRST_PANIC.with(|p| p.borrow_mut().take());
    IN_RUN.with(|r| r.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| drive(sim, scenario, world)));
    IN_RUN.with(|r| r.set(false));
    let first_panic = FIRST_PANIC.with(|p| p.borrow_mut().take());
    match result {
        Ok(Ok(Ending::Finished)) => Vec::new(),
        // Every server connection ended: what the clients still wait for is theirs to judge
        // (a FIN a partition swallowed is never retransmitted by turmoil).
        Ok(Ok(Ending::Quiescent(_))) if world.net.open_connections() == 0 => Vec::new(),
        Ok(Ok(Ending::Quiescent(at))) => {
            let unfinished = world.net.open_connections();
            vec![Violation::run(
                Check::Incomplete,
                format!(
                    "quiescent at {}: nothing in flight, no timer armed, no client deadline, \
                     yet the run is not over ({unfinished} server connections open)",
                    crate::trace::ms(u64::try_from(at.as_nanos()).unwrap_or(u64::MAX))
                ),
            )]
        }
        Ok(Err(error)) => vec![Violation::run(
            Check::Incomplete,
            format!("run did not complete: {error}"),
        )],
        Err(payload) => {
            // The first panic is the cause; tokio's own ("a spawned task panicked") follows.
            let message = first_panic.unwrap_or_else(|| panic_message(payload.as_ref()));
            vec![Violation::run(Check::Panic, message)]
        }
    }
}

/// Judges a finished run. The judge decodes the bytes each way with parts of the engine (its
/// HTTP/2 frame parser, HPACK): a panic there, on bytes a broken engine or a malformed
/// scenario produced, fails this run like any other panic instead of the whole campaign.
fn judge(
    scenario: &Scenario,
    trace: &Trace,
    clients: &[ClientLog],
    net: &Network,
) -> Vec<Violation> {
    FIRST_PANIC.with(|p| p.borrow_mut().take());
    IN_RUN.with(|r| r.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut violations = check(scenario, trace, clients);
        violations.extend(check_backlog(scenario, net));
        violations
    }));
    IN_RUN.with(|r| r.set(false));
    let first_panic = FIRST_PANIC.with(|p| p.borrow_mut().take());
    result.unwrap_or_else(|payload| {
        let message = first_panic.unwrap_or_else(|| panic_message(payload.as_ref()));
        vec![Violation::run(
            Check::Panic,
            format!("the judge panicked: {message}"),
        )]
    })
}

/// The largest single write an app makes (echo's credit, the static app's chunk), plus room
/// for response heads: the engine may hand out that much before it hears of backpressure.
const APP_WRITE_BYTES_MAX: u64 = 64 * 1024 + 4 * 1024;

/// Bounded buffering: bytes handed out by the engine but not yet taken by the socket never
/// exceed the send buffer bound plus one app write.
fn check_backlog(scenario: &Scenario, net: &Network) -> Vec<Violation> {
    let bound = scenario.config.limits.send_buffer_bytes_max as u64 + APP_WRITE_BYTES_MAX;
    net.backlogs()
        .into_iter()
        .filter(|(_, backlog)| backlog.max > bound)
        .map(|(conn, backlog)| Violation {
            check: Check::Backlog,
            conn,
            detail: format!(
                "{} bytes handed out but unwritten at once, over the bound of {bound} \
                 (send_buffer_bytes_max + one app write): backpressure was ignored",
                backlog.max
            ),
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

/// What the step loop watches besides turmoil.
struct Watch<'a> {
    chaos: &'a Chaos,
    recorder: &'a Recorder,
    pending: &'a Pending,
    net: &'a Network,
    links: &'a Links,
    /// The server's drain signal.
    drain: &'a DrainSwitch,
    /// Steps taken so far.
    steps: Cell<u64>,
}

/// How the step loop ended.
enum Ending {
    /// Every host finished.
    Finished,
    /// Nothing could happen any more, at this time (see `pending`).
    Quiescent(Duration),
}

/// How long nothing must be recorded, after the chaos phase, before a run with nothing
/// pending is quiescent: far longer than any message latency, so no byte is in flight.
const QUIET_BEFORE_QUIESCENT: Duration = Duration::from_secs(1);

/// Steps the simulation, firing network faults on time and ending chaos on time; stops early
/// once the run is quiescent.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    world: &Watch<'_>,
) -> Result<Ending, Box<dyn std::error::Error>> {
    let (chaos, recorder) = (world.chaos, world.recorder);
    let mut net: Vec<(Duration, NetFault)> = scenario.net.clone();
    net.sort_by_key(|(at, _)| *at);
    let mut net = net.into_iter().peekable();
    // How many messages the hosts had sent plus the bytes read on the proxy's links, and
    // when that last grew.
    let mut last_moved = (0, Duration::ZERO);
    loop {
        let now = sim.elapsed();
        while let Some((_, fault)) = net.next_if(|(at, _)| *at <= now) {
            // The liveness phase is fault-free: a fault scheduled in it is not applied.
            if chaos.is_on() {
                apply(sim, world.drain, fault);
                recorder.record_at(now, None, Event::fault(Fault::Network { fault }));
            }
        }
        if chaos.is_on() && now >= scenario.chaos_phase {
            chaos.calm();
            sim.repair("clients", "server");
            sim.release("clients", "server");
            // Jitter is a fault too: the liveness phase runs at the least latency, fixed.
            sim.set_link_latency("clients", "server", scenario.latency.min);
            recorder.record_at(now, None, Event::fault(Fault::ChaosOver));
        }
        let last_at = recorder.last_at();
        if !chaos.is_on() {
            let quiet = last_at.is_none_or(|last| now >= last + QUIET_BEFORE_QUIESCENT);
            if quiet && !world.pending.anything_due(now) {
                return Ok(Ending::Quiescent(now));
            }
        }
        let moved = sim.messages_sent() + world.links.bytes_read();
        if moved != last_moved.0 {
            last_moved = (moved, now);
        }
        let last_activity = last_at.map_or(last_moved.1, |last| last.max(last_moved.1));
        let next_fault = net.peek().map(|(at, _)| *at);
        let idle = idle_ticks(sim, scenario, world, (now, last_activity), next_fault);
        let finished = sim.skip(idle)?;
        world.steps.set(world.steps.get() + 1);
        debug_assert!(
            idle == 1
                || (recorder.last_at() == last_at
                    && sim.messages_sent() + world.links.bytes_read() == moved),
            "{idle} ticks taken at once from {now:?}, but something happened inside them"
        );
        if finished {
            return Ok(Ending::Finished);
        }
    }
}

/// How many ticks the run may take at once from `now` (1: a plain step): as many as end
/// before anything can happen, under [`Stepping::SkipIdle`]. That needs two ticks with
/// nothing recorded, no message sent and no byte read on a proxy link (whatever polls shared
/// state a millisecond at a time has seen the last change) and no message in flight. The
/// span then ends a tick short of the tick of the first stop: a driver's alarm, a server
/// socket's own wait, a client's deadline ([`Pending::horizon`]), the next network fault,
/// the end of the chaos phase, the quiescence check, the time limit. Inside such a span a
/// host only wakes for nothing (a poll that finds no change), so taking it at once changes
/// nothing but the cost: most of a run's simulated time is connections waiting for their
/// timers. Debug builds check after each span that nothing was recorded, sent or read on a
/// link inside it.
fn idle_ticks(
    sim: &turmoil::Sim<'_>,
    scenario: &Scenario,
    world: &Watch<'_>,
    (now, last_activity): (Duration, Duration),
    next_fault: Option<Duration>,
) -> u32 {
    const TICK: Duration = Duration::from_millis(1);
    let settled = now >= last_activity + 2 * TICK;
    if scenario.stepping == Stepping::EveryTick || !settled || !sim.is_network_quiet() {
        return 1;
    }
    let horizon = match world.pending.horizon(now) {
        Horizon::At(at) if at > now => Some(at),
        // Overdue: its task wakes at once.
        Horizon::Now | Horizon::At(_) => return 1,
        Horizon::Never => None,
    };
    let chaos_end = world.chaos.is_on().then_some(scenario.chaos_phase);
    let quiescence = world
        .recorder
        .last_at()
        .map(|last| last + QUIET_BEFORE_QUIESCENT);
    let limit = scenario.chaos_phase + scenario.liveness_budget;
    let stops = [horizon, next_fault, chaos_end, quiescence, Some(limit)];
    let first = stops.into_iter().flatten().filter(|&at| at > now).min();
    let Some(first) = first else { return 1 };
    // Whole ticks up to a tick short of the one in which `first` falls: a margin, since a
    // timer due at a span's end would wake its task in the next tick either way.
    let ticks = (first - now).as_nanos() / TICK.as_nanos();
    u32::try_from(ticks.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .max(1)
}

fn apply(sim: &mut turmoil::Sim<'_>, drain: &DrainSwitch, fault: NetFault) {
    match fault {
        NetFault::Hold => sim.hold("clients", "server"),
        NetFault::Release => sim.release("clients", "server"),
        NetFault::Partition => sim.partition("clients", "server"),
        NetFault::Repair => sim.repair("clients", "server"),
        NetFault::RestartServer => sim.bounce("server"),
        NetFault::RestartOrigin => sim.bounce(crate::proxy::ORIGIN.0),
        NetFault::DrainServer => drain.start(),
    }
}
