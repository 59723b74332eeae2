//! The load of each scenario, against a server already running at `addr`.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    eio::{
        self, HARNESS, PollClient, Result, WsClient, for_each_stamp, is_event, now_us,
        padded_object, source_ip, stamp,
    },
    stats::{Metrics, SharedHist, add_latency},
};

/// Handshakes in flight at once while connecting many clients.
const CONNECT_CONCURRENCY: usize = 128;
/// Longest wait for one ack before a run is declared broken.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects `n` clients to `nsp`, numbered from `first` (the number picks the source address
/// and is given to `auth`).
pub async fn connect_many(
    addr: SocketAddr,
    first: usize,
    n: usize,
    nsp: &'static str,
    auth: impl Fn(usize) -> Option<String>,
) -> Result<Vec<WsClient>> {
    let auths: Vec<(usize, Option<String>)> = (first..first + n).map(|i| (i, auth(i))).collect();
    let results: Vec<Result<WsClient>> = stream::iter(auths)
        .map(|(i, a)| connect_one(addr, i, nsp, a))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Connects client number `i` (the number picks the source address), within [`CALL_TIMEOUT`].
pub(crate) async fn connect_one(
    addr: SocketAddr,
    i: usize,
    nsp: &'static str,
    auth: Option<String>,
) -> Result<WsClient> {
    tokio::time::timeout(
        CALL_TIMEOUT,
        WsClient::connect(addr, Some(source_ip(i)), nsp, auth.as_deref()),
    )
    .await
    .map_err(|_| format!("connect {i} timed out"))?
}

async fn call(c: &mut WsClient, id: u64, event: &str, args: &str) -> Result<String> {
    let reply = tokio::time::timeout(CALL_TIMEOUT, c.call(id, event, args))
        .await
        .map_err(|_| format!("no ack to {event} within {CALL_TIMEOUT:?}"))??;
    Ok(reply.to_string())
}

/// The object sent as an echo or fan-out payload: `{"t":"~ts_seq~","p":"xxx"}`, `size` bytes.
fn payload(ts: u64, seq: u64, size: usize) -> String {
    padded_object(&format!("\"t\":\"{}\"", stamp(ts, seq)), size)
}

/// Measurement window of a closed-loop run.
#[derive(Clone, Copy)]
pub struct Window {
    /// Start of measurement (after the warm-up).
    pub from: Instant,
    /// End of the run.
    pub until: Instant,
}

impl Window {
    /// A window starting after `warm`, lasting `measure`.
    pub fn new(warm: Duration, measure: Duration) -> Self {
        let from = Instant::now() + warm;
        Self {
            from,
            until: from + measure,
        }
    }

    /// Whether `t` is inside.
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.from && t < self.until
    }

    /// Its length in seconds.
    pub fn secs(&self) -> f64 {
        (self.until - self.from).as_secs_f64()
    }
}

/// Scenario 2: `clients` WebSocket clients in a closed loop, each sending `message-with-ack`
/// with a `size`-byte object and waiting for the ack before the next.
pub async fn echo_ws(
    addr: SocketAddr,
    clients: usize,
    size: usize,
    warm: Duration,
    measure: Duration,
) -> Result<Metrics> {
    let conns = connect_many(addr, 0, clients, "", |_| None).await?;
    let hist = SharedHist::default();
    let count = Arc::new(AtomicU64::new(0));
    let w = Window::new(warm, measure);
    let usage = crate::cpu::during(w);
    let mut tasks = JoinSet::new();
    for mut c in conns {
        let (hist, count) = (hist.clone(), count.clone());
        tasks.spawn(async move {
            let mut id = 0u64;
            while Instant::now() < w.until {
                id += 1;
                let ts = now_us();
                call(&mut c, id, "message-with-ack", &payload(ts, id, size)).await?;
                if w.contains(Instant::now()) {
                    count.fetch_add(1, Relaxed);
                    hist.record(now_us() - ts);
                }
            }
            c.close().await;
            Ok::<_, eio::Error>(())
        });
    }
    join_all(tasks).await?;
    let mut m = Metrics::new();
    crate::cpu::add(&mut m, "", usage).await;
    m.insert("acks_per_s".into(), count.load(Relaxed) as f64 / w.secs());
    add_latency(&mut m, "lat", &hist.snapshot());
    Ok(m)
}

/// Scenario 2 over HTTP long-polling: each client POSTs the event, then GETs until its ack.
pub async fn echo_polling(
    addr: SocketAddr,
    clients: usize,
    size: usize,
    warm: Duration,
    measure: Duration,
) -> Result<Metrics> {
    let results: Vec<Result<PollClient>> = stream::iter(0..clients)
        .map(|i| PollClient::connect(addr, Some(source_ip(i))))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let conns: Vec<PollClient> = results.into_iter().collect::<Result<_>>()?;
    let hist = SharedHist::default();
    let count = Arc::new(AtomicU64::new(0));
    let w = Window::new(warm, measure);
    let usage = crate::cpu::during(w);
    let mut tasks = JoinSet::new();
    for mut c in conns {
        let (hist, count) = (hist.clone(), count.clone());
        tasks.spawn(async move {
            let mut id = 0u64;
            while Instant::now() < w.until {
                id += 1;
                let ts = now_us();
                let packet = format!("42{id}[\"message-with-ack\",{}]", payload(ts, id, size));
                c.post(&packet).await?;
                let want = format!("43{id}[");
                let deadline = Instant::now() + CALL_TIMEOUT;
                'wait: loop {
                    if Instant::now() > deadline {
                        return Err("no ack over polling".into());
                    }
                    for p in c.poll().await? {
                        if p.starts_with(&want) {
                            break 'wait;
                        }
                    }
                }
                if w.contains(Instant::now()) {
                    count.fetch_add(1, Relaxed);
                    hist.record(now_us() - ts);
                }
            }
            Ok::<_, eio::Error>(())
        });
    }
    join_all(tasks).await?;
    let mut m = Metrics::new();
    crate::cpu::add(&mut m, "", usage).await;
    m.insert("acks_per_s".into(), count.load(Relaxed) as f64 / w.secs());
    add_latency(&mut m, "lat", &hist.snapshot());
    Ok(m)
}

async fn join_all(mut tasks: JoinSet<Result<()>>) -> Result<()> {
    let mut first_err = None;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(e.into());
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sequence numbers of fan-out phases: closed loop, fixed rate, flood.
const PHASE: u64 = 1_000_000;
const RING: usize = 1 << 16;

/// What the receivers of a fan-out share.
struct Fan {
    members: u32,
    /// Deliveries per message still in the closed loop, by `seq % RING`.
    pending: Mutex<Vec<u32>>,
    /// Free slots of the closed loop's window.
    permits: Semaphore,
    /// Deliveries inside the closed loop's measurement window.
    window_count: AtomicU64,
    /// Deliveries per phase.
    phase_count: [AtomicU64; 3],
    /// Latency per phase.
    hist: [SharedHist; 3],
    /// Time of the last delivery (µs).
    last: AtomicU64,
    window: Mutex<Option<Window>>,
}

impl Fan {
    fn on_delivery(&self, ts: u64, seq: u64) {
        let now = now_us();
        self.last.store(now, Relaxed);
        let phase = usize::try_from(seq / PHASE).unwrap_or(2).min(2);
        self.phase_count[phase].fetch_add(1, Relaxed);
        if phase == 0 {
            let inside = self
                .window
                .lock()
                .ok()
                .and_then(|w| *w)
                .is_some_and(|w| w.contains(Instant::now()));
            if inside {
                self.window_count.fetch_add(1, Relaxed);
                self.hist[0].record(now.saturating_sub(ts));
            }
            let slot = usize::try_from(seq).unwrap_or(0) % RING;
            let done = self.pending.lock().is_ok_and(|mut p| {
                p[slot] += 1;
                if p[slot] >= self.members {
                    p[slot] = 0;
                    true
                } else {
                    false
                }
            });
            if done {
                self.permits.add_permits(1);
            }
        } else {
            self.hist[phase].record(now.saturating_sub(ts));
        }
    }
}

/// Which fan-out phases to run.
#[derive(Clone, Copy, Debug)]
pub struct FanoutPlan {
    /// Members of the room.
    pub members: usize,
    /// Messages in flight in the closed loop (a message leaves the window when every member got it).
    pub window: usize,
    /// Warm-up and measurement of the closed loop.
    pub warm: Duration,
    /// Length of the closed loop's measurement.
    pub measure: Duration,
    /// Deliveries per second of the fixed-rate phase (0: skip).
    pub fixed_rate: u64,
    /// Length of the fixed-rate phase.
    pub fixed_for: Duration,
    /// Messages of the flood (0: skip).
    pub flood: usize,
    /// Size of each payload object.
    pub size: usize,
}

/// Scenarios 3 and 6: `members` clients join room `r` of `/harness`; one more client (not a
/// member) emits `to {room, event:"m", data}` and the members' deliveries are counted.
pub async fn fanout(addr: SocketAddr, plan: FanoutPlan) -> Result<Metrics> {
    let mut members = connect_many(addr, 1, plan.members, HARNESS, |_| None).await?;
    let joins: Vec<Result<String>> = stream::iter(members.iter_mut())
        .map(|c| call(c, 1, "join", "\"r\""))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    for j in joins {
        j?;
    }
    let fan = Arc::new(Fan {
        members: u32::try_from(plan.members).unwrap_or(u32::MAX),
        pending: Mutex::new(vec![0; RING]),
        permits: Semaphore::new(plan.window),
        window_count: AtomicU64::new(0),
        phase_count: Default::default(),
        hist: Default::default(),
        last: AtomicU64::new(now_us()),
        window: Mutex::new(None),
    });
    let mut readers = JoinSet::new();
    for mut c in members {
        let fan = fan.clone();
        readers.spawn(async move {
            while let Ok(t) = c.recv().await {
                if is_event(&t, HARNESS, "m") {
                    for_each_stamp(&t, |ts, seq| fan.on_delivery(ts, seq));
                }
            }
        });
    }
    let mut sender = WsClient::connect(addr, Some(source_ip(0)), HARNESS, None).await?;
    let emit = |seq: u64, ts: u64| {
        format!(
            "42{HARNESS}{seq}[\"to\",{{\"room\":\"r\",\"event\":\"m\",\"data\":{}}}]",
            payload(ts, seq, plan.size)
        )
    };
    let mut m = Metrics::new();

    // Closed loop.
    let w = Window::new(plan.warm, plan.measure);
    let usage = crate::cpu::during(w);
    if let Ok(mut slot) = fan.window.lock() {
        *slot = Some(w);
    }
    let mut seq = 0u64;
    let mut stalls = 0u64;
    while Instant::now() < w.until {
        tokio::select! {
            r = sender.recv() => { r?; }
            p = tokio::time::timeout(Duration::from_secs(2), fan.permits.acquire()) => {
                match p {
                    Ok(Ok(permit)) => permit.forget(),
                    _ => stalls += 1,
                }
                seq += 1;
                sender.send(emit(seq, now_us())).await?;
            }
        }
    }
    drain(
        &mut sender,
        &fan,
        Duration::from_millis(500),
        Duration::from_secs(20),
        None,
    )
    .await?;
    m.insert(
        "deliveries_per_s".into(),
        fan.window_count.load(Relaxed) as f64 / w.secs(),
    );
    m.insert("closed_stalls".into(), stalls as f64);
    crate::cpu::add(&mut m, "", usage).await;
    add_latency(&mut m, "closed", &fan.hist[0].snapshot());

    // Fixed rate: message k goes out at start + k·period, stamped with that intended time so
    // that a late server shows in the latency (no coordinated omission).
    if let Some(period_us) = (plan.members as u64 * 1_000_000).checked_div(plan.fixed_rate) {
        let period_us = period_us.max(1);
        let n = plan.fixed_for.as_micros() as u64 / period_us;
        let start = Instant::now() + Duration::from_millis(50);
        let start_us = now_us() + 50_000;
        let usage = crate::cpu::during(Window {
            from: start,
            until: start + Duration::from_micros(n * period_us),
        });
        for k in 0..n {
            let at = start + Duration::from_micros(k * period_us);
            loop {
                tokio::select! {
                    r = sender.recv() => { r?; }
                    () = eio::sleep_until(at) => break,
                }
            }
            sender
                .send(emit(PHASE + k, start_us + k * period_us))
                .await?;
        }
        drain(
            &mut sender,
            &fan,
            Duration::from_millis(500),
            Duration::from_secs(20),
            None,
        )
        .await?;
        let got = fan.phase_count[1].load(Relaxed);
        m.insert(
            "fixed_rate_per_s".into(),
            (n * plan.members as u64) as f64 / (n * period_us) as f64 * 1e6,
        );
        m.insert(
            "fixed_loss".into(),
            (n * plan.members as u64).saturating_sub(got) as f64,
        );
        add_latency(&mut m, "fixed", &fan.hist[1].snapshot());
        crate::cpu::add(&mut m, "fixed_", usage).await;
    }

    // Flood: every message written back to back, then count what arrives.
    if plan.flood > 0 {
        let t0 = now_us();
        for k in 0..plan.flood as u64 {
            sender.feed(emit(2 * PHASE + k, now_us())).await?;
        }
        sender.flush().await?;
        drain(
            &mut sender,
            &fan,
            Duration::from_secs(3),
            Duration::from_secs(90),
            Some((2, (plan.flood * plan.members) as u64)),
        )
        .await?;
        let expected = (plan.flood * plan.members) as u64;
        let got = fan.phase_count[2].load(Relaxed);
        let span = fan.last.load(Relaxed).saturating_sub(t0).max(1);
        m.insert("flood_expected".into(), expected as f64);
        m.insert("flood_received".into(), got as f64);
        m.insert("flood_lost".into(), expected.saturating_sub(got) as f64);
        m.insert("flood_last_s".into(), span as f64 / 1e6);
        m.insert(
            "flood_deliveries_per_s".into(),
            got as f64 / span as f64 * 1e6,
        );
        add_latency(&mut m, "flood", &fan.hist[2].snapshot());
    }
    readers.abort_all();
    sender.close().await;
    Ok(m)
}

/// Reads the sender's socket until no delivery arrived for `quiet` (or `max` passed), or,
/// with `all: Some((phase, n))`, until that phase has its `n` deliveries (nothing more can come).
async fn drain(
    sender: &mut WsClient,
    fan: &Fan,
    quiet: Duration,
    max: Duration,
    all: Option<(usize, u64)>,
) -> Result<()> {
    let end = Instant::now() + max;
    let quiet_us = quiet.as_micros() as u64;
    while Instant::now() < end {
        tokio::select! {
            r = sender.recv() => { r?; }
            () = eio::pause(50) => {
                if now_us().saturating_sub(fan.last.load(Relaxed)) > quiet_us {
                    break;
                }
                if all.is_some_and(|(phase, n)| fan.phase_count[phase].load(Relaxed) >= n) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// What the idle scenario measured against one server.
pub struct IdleOutcome {
    /// (connections, server RSS in KiB) at 0 and after each level.
    pub points: Vec<(usize, u64)>,
    /// Connections open at the top level, when the hold began.
    pub held: usize,
    /// How long they were held.
    pub hold: Duration,
    /// Connections that ended (closed by the server, or a transport error) from their connect
    /// to the end of the hold.
    pub lost: usize,
    /// Why the first of them ended.
    pub first_loss: Option<String>,
}

/// Scenario 1: connects clients up to each of `levels` and reads the server's RSS after each
/// (once it settled), then holds them all for `hold` and counts those that were lost. Every
/// client answers the server's pings from the moment it is connected (a task per client), so
/// none waits for the rest of its level. `rss` reads the server's resident set in KiB.
pub async fn idle(
    addr: SocketAddr,
    levels: &[usize],
    hold: Duration,
    auth: impl Fn(usize) -> Option<String> + Copy,
    rss: impl Fn() -> Option<u64>,
) -> Result<IdleOutcome> {
    let mut points = Vec::new();
    eio::pause(500).await;
    points.push((0, rss().ok_or("cannot read the server's RSS")?));
    let lost = Arc::new(AtomicU64::new(0));
    let first_loss: Arc<Mutex<Option<String>>> = Arc::default();
    let mut holders = JoinSet::new();
    let mut have = 0;
    for &level in levels {
        if level <= have {
            continue;
        }
        let mut connects = stream::iter(have..level)
            .map(|i| connect_one(addr, i, "", auth(i)))
            .buffer_unordered(CONNECT_CONCURRENCY);
        while let Some(c) = connects.next().await {
            let mut c = c?;
            let (lost, first_loss) = (lost.clone(), first_loss.clone());
            holders.spawn(async move {
                // `recv` answers pings; it returns only with an error or a close.
                let e = loop {
                    if let Err(e) = c.recv().await {
                        break e;
                    }
                };
                lost.fetch_add(1, Relaxed);
                if let Ok(mut f) = first_loss.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            });
        }
        have = level;
        settle(&rss).await;
        points.push((have, rss().ok_or("cannot read the server's RSS")?));
    }
    eio::sleep_until(Instant::now() + hold).await;
    let lost = usize::try_from(lost.load(Relaxed)).unwrap_or(usize::MAX);
    holders.abort_all();
    let first_loss = first_loss.lock().ok().and_then(|mut f| f.take());
    Ok(IdleOutcome {
        points,
        held: have,
        hold,
        lost,
        first_loss,
    })
}

/// Waits until the RSS stops moving (or 5 s).
async fn settle(rss: &impl Fn() -> Option<u64>) {
    let mut last = rss();
    for _ in 0..10 {
        eio::pause(500).await;
        let now = rss();
        if now == last {
            return;
        }
        last = now;
    }
}
