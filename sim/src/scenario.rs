//! A scenario: everything a run needs besides its seed (the server's config and app, the
//! scripted clients, their faults, the network's own faults and the phases of the run, and
//! in a proxy run what stands behind the proxy). Plain descriptions: the hosts that carry
//! them out (`server`, `proxy`) import them, never the other way round.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use twine_driver::App;
use twine_engine::proxy::ProxyConfig;
use twine_engine::{ClientConfig, Config};

use crate::client::{ClientFaults, ClientScript};
use crate::event::NetFault;
use crate::fault::{FaultPlan, Keep, StreamFaults};

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

/// How the server learns which protocol a connection speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Negotiation {
    /// A cleartext port (`twine serve` without TLS): HTTP/2 for a client that opens with its
    /// preface (prior knowledge), HTTP/1.1 for any other.
    #[default]
    FirstBytes,
    /// As over TLS whose ALPN chose `h2` (`twine serve --tls`): HTTP/2 from the first byte,
    /// whatever the client sends (RFC 9113 §3.2), and the connection counts as secure.
    AlpnH2,
}

/// How a run moves simulated time forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stepping {
    /// A tick at a time while anything may happen, and each idle span (no message in flight,
    /// no deadline before its end) as one step: the same trace, far faster when connections
    /// wait for their timers.
    #[default]
    SkipIdle,
    /// Every tick stepped, as turmoil steps: to check that skipping changes nothing.
    EveryTick,
}

/// Everything a run needs besides its seed.
#[derive(Clone)]
pub struct Scenario {
    /// `family/name`.
    pub name: String,
    /// The engine configuration.
    pub config: Config,
    /// The app for each connection.
    pub app: AppFactory,
    /// The clients, one connection each, numbered in this order.
    pub clients: Vec<ClientScript>,
    /// Faults for connection n.
    pub faults: FaultPlan,
    /// The swarm's faults on the client side (each connection draws whether it gets them).
    pub client_faults: ClientFaults,
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
    /// Sabotage, for proving the checkers can fail: the engine breaks this promise
    /// ([`crate::sabotage`]).
    pub sabotage: Option<crate::sabotage::Sabotage>,
    /// A proxy run: the server is `twine proxy` in front of this origin (`app` is unused).
    pub proxy: Option<ProxySetup>,
    /// In a proxy run, partial reads and writes on its upstream links (the swarm's fragment
    /// knobs), during the chaos phase.
    pub link_faults: crate::link::LinkFaults,
    /// How simulated time moves: idle spans skipped, unless told otherwise.
    pub stepping: Stepping,
    /// How the server picks each connection's protocol: by its first bytes, unless told
    /// otherwise.
    pub negotiation: Negotiation,
}

impl Scenario {
    /// A scenario with no client, no fault, 1 ms latency, a 10 s chaos phase and a liveness
    /// budget longer than every default timer (60 s head deadline + 20 s linger + margin).
    pub fn new(name: impl Into<String>, config: Config, app: AppFactory) -> Scenario {
        Scenario {
            name: name.into(),
            config,
            app,
            clients: Vec::new(),
            faults: Rc::new(|_| StreamFaults::default()),
            client_faults: ClientFaults::default(),
            net: Vec::new(),
            latency: Latency::fixed(Duration::from_millis(1)),
            chaos_phase: Duration::from_secs(10),
            liveness_budget: Duration::from_secs(120),
            knobs: Vec::new(),
            sabotage: None,
            keep: None,
            proxy: None,
            link_faults: crate::link::LinkFaults::default(),
            stepping: Stepping::SkipIdle,
            negotiation: Negotiation::FirstBytes,
        }
    }
}

/// Makes the app for each connection.
pub type AppFactory = Rc<dyn Fn() -> Box<dyn App>>;

/// An app factory for any app with a default constructor.
pub fn app<A: App + Default + 'static>() -> AppFactory {
    Rc::new(|| Box::new(A::default()))
}

/// What a proxy scenario puts behind the proxy.
#[derive(Clone)]
pub struct ProxySetup {
    /// How the proxy forwards.
    pub forward: ProxyConfig,
    /// The proxy's upstream connections' configuration.
    pub client: ClientConfig,
    /// Idle upstream connections kept.
    pub idle_max: usize,
    /// The origin.
    pub origin: Origin,
}

impl ProxySetup {
    /// A proxy with the defaults in front of `origin`.
    pub fn new(origin: Origin) -> ProxySetup {
        ProxySetup {
            forward: ProxyConfig::new("upstream"),
            client: ClientConfig::new(),
            idle_max: 4,
            origin,
        }
    }
}

/// The server behind the proxy.
#[derive(Clone)]
pub enum Origin {
    /// The real engine with an app.
    App {
        /// Its configuration.
        config: Box<Config>,
        /// Its app.
        app: AppFactory,
    },
    /// A script per connection (by the origin's connection number): how a broken or hostile
    /// server behaves.
    Script(Rc<dyn Fn(u32) -> Vec<OriginStep>>),
    /// Nothing listens on the origin's port: every connection the proxy attempts is refused.
    Down,
}

/// One step of a scripted origin connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginStep {
    /// Read until a request head has arrived (an empty line), or EOF.
    ReadHead,
    /// Read this many more bytes (a body), or until EOF.
    Read(usize),
    /// Write these bytes.
    Write(Bytes),
    /// Wait.
    Sleep(Duration),
    /// Close: a FIN, or a reset when bytes sent to us are unread (turmoil's rule).
    Close,
    /// Keep the connection open, reading and dropping whatever comes (untraced), until the
    /// peer closes it.
    Hang,
}
