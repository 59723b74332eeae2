//! Scenarios 4 and 5: the chat protocol itself (`docs/PROTOCOL.md`), against the chat server
//! (or the Node subset of it).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use tokio::task::JoinSet;

use crate::{
    Plan,
    eio::{
        self, Result, WsClient, ack_id, for_each_seq, for_each_stamp, is_event, json_str_field,
        now_us, stamp,
    },
    fakellm::FakeLlm,
    load::Window,
    stats::{Metrics, SharedHist, add_latency},
};

/// The `data` of an ack envelope `{ok:true,data}`, or the error it carries.
fn ack_data(ack: &str) -> Result<serde_json::Value> {
    let start = ack.find('[').ok_or("ack without arguments")?;
    let args: serde_json::Value = serde_json::from_str(&ack[start..])?;
    let envelope = args.get(0).ok_or("empty ack")?;
    if envelope.get("ok").and_then(serde_json::Value::as_bool) == Some(true) {
        Ok(envelope.get("data").cloned().unwrap_or_default())
    } else {
        Err(format!("refused: {envelope}").into())
    }
}

async fn call(c: &mut WsClient, id: u64, event: &str, args: &str) -> Result<serde_json::Value> {
    let reply = tokio::time::timeout(Duration::from_secs(30), c.call(id, event, args))
        .await
        .map_err(|_| format!("no ack to {event}"))??;
    ack_data(&reply)
}

/// Connects `n` guests, client `i` to `addrs[i % addrs.len()]` (the nodes of a cluster, or
/// one server), and puts them in `rooms` rooms (created by the first of each, so that every
/// room has members on every node); returns each client with its room id, in client order.
async fn populate(addrs: &[SocketAddr], n: usize, rooms: usize) -> Result<Vec<(WsClient, String)>> {
    let first = *addrs.first().ok_or("no server address")?;
    let connected: Vec<Result<WsClient>> = stream::iter(0..n)
        .map(|i| {
            let auth = format!("{{\"name\":\"guest{i}\"}}");
            crate::load::connect_one(
                addrs.get(i % addrs.len()).copied().unwrap_or(first),
                i,
                "",
                Some(auth),
            )
        })
        .buffered(128)
        .collect()
        .await;
    let clients = connected.into_iter().collect::<Result<Vec<_>>>()?;
    // The server sets its event handlers once the socket is in, then says `session`: events
    // sent before it would be dropped, so every client waits for it (as the e2e suites do).
    let sessions: Vec<Result<WsClient>> = stream::iter(clients)
        .map(|mut c| async move {
            tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    let t = c.recv().await?;
                    if is_event(&t, "", "session") {
                        return Ok::<_, eio::Error>(());
                    }
                }
            })
            .await
            .map_err(|_| "no session event")??;
            Ok(c)
        })
        .buffered(128)
        .collect()
        .await;
    let mut clients = sessions.into_iter().collect::<Result<Vec<_>>>()?;
    let per = n.div_ceil(rooms.max(1));
    let mut ids = Vec::new();
    for r in 0..rooms {
        let creator = clients.get_mut(r * per).ok_or("fewer clients than rooms")?;
        let info = call(creator, 1, "create", &format!("{{\"name\":\"bench {r}\"}}")).await?;
        let id = info
            .get("id")
            .and_then(serde_json::Value::as_str)
            .ok_or("create answered without id")?;
        ids.push(id.to_owned());
    }
    let joins: Vec<Result<(WsClient, String)>> = stream::iter(clients.into_iter().enumerate())
        .map(|(i, mut c)| {
            let room = ids[(i / per).min(ids.len() - 1)].clone();
            async move {
                call(&mut c, 2, "join", &format!("{{\"room\":\"{room}\"}}")).await?;
                Ok((c, room))
            }
        })
        .buffered(128)
        .collect()
        .await;
    joins.into_iter().collect()
}

#[derive(Default)]
struct ChatShared {
    sent: AtomicU64,
    acks: AtomicU64,
    errors: AtomicU64,
    deliveries: AtomicU64,
    ack_hist: SharedHist,
    delivery_hist: SharedHist,
    /// Deliveries of messages sent through another node.
    cross_hist: SharedHist,
}

/// How a chat client sends.
#[derive(Clone, Copy)]
enum Pace {
    /// The next `send` once the previous one is acked.
    Closed,
    /// One `send` every period, whatever the acks do.
    Open(Duration),
}

/// One client's loop over a window: sends, reads acks and deliveries, counts what falls
/// inside the window.
async fn drive(
    c: &mut WsClient,
    (idx, nodes): (usize, usize),
    room: &str,
    pace: Pace,
    w: Window,
    shared: &ChatShared,
    next_id: &mut u64,
) -> Result<()> {
    let mut outstanding: HashMap<u64, u64> = HashMap::new();
    let mut next_at = match pace {
        Pace::Closed => Instant::now(),
        // Spread the clients over one period.
        Pace::Open(p) => {
            Instant::now() + p.mul_f64((idx % 1000) as f64 / 1000.0) + Duration::from_millis(10)
        }
    };
    let hard_end = w.until + Duration::from_secs(10);
    let pad = "x".repeat(80);
    // The stamp's second number is the sender's node (client `idx` is on node `idx % nodes`).
    let node = (idx % nodes.max(1)) as u64;
    loop {
        let now = Instant::now();
        if now >= hard_end || (now >= w.until && outstanding.is_empty()) {
            break;
        }
        let may_send = now < w.until
            && match pace {
                Pace::Closed => outstanding.is_empty(),
                Pace::Open(_) => now >= next_at,
            };
        if may_send {
            *next_id += 1;
            let id = *next_id;
            let ts = match pace {
                Pace::Closed => now_us(),
                // The intended time: a late server shows in the latency.
                Pace::Open(_) => now_us()
                    .saturating_sub(now.saturating_duration_since(next_at).as_micros() as u64),
            };
            if let Pace::Open(p) = pace {
                next_at += p;
            }
            let args = format!(
                "{{\"room\":\"{room}\",\"text\":\"{} {pad}\",\"clientId\":\"c{idx}-{id}\"}}",
                stamp(ts, node)
            );
            outstanding.insert(id, ts);
            if w.contains(now) {
                shared.sent.fetch_add(1, Relaxed);
            }
            c.send(c.event_with_ack(id, "send", &args)).await?;
            continue;
        }
        let t = match pace {
            Pace::Open(_) if now < w.until => {
                tokio::select! {
                    t = c.recv() => t?,
                    () = eio::sleep_until(next_at) => continue,
                }
            }
            _ => {
                tokio::select! {
                    t = c.recv() => t?,
                    () = eio::sleep_until(hard_end) => continue,
                }
            }
        };
        let inside = w.contains(Instant::now());
        if let Some(id) = ack_id(&t, "") {
            if let Some(ts) = outstanding.remove(&id) {
                if t.contains("\"ok\":true") {
                    if inside {
                        shared.acks.fetch_add(1, Relaxed);
                        shared.ack_hist.record(now_us().saturating_sub(ts));
                    }
                } else {
                    if shared.errors.fetch_add(1, Relaxed) == 0 {
                        crate::note(format!("a `send` was refused: `{:.200}`", &*t));
                    }
                }
            }
        } else if inside && (is_event(&t, "", "message") || is_event(&t, "", "messages")) {
            let now = now_us();
            for_each_stamp(&t, |ts, from| {
                shared.deliveries.fetch_add(1, Relaxed);
                shared.delivery_hist.record(now.saturating_sub(ts));
                if from != node {
                    shared.cross_hist.record(now.saturating_sub(ts));
                }
            });
        }
    }
    Ok(())
}

/// Runs every client through one window; gives the clients back.
async fn phase(
    (clients, nodes): (Vec<(WsClient, String)>, usize),
    pace: Pace,
    w: Window,
    id_base: u64,
) -> Result<(Vec<(WsClient, String)>, Arc<ChatShared>)> {
    let shared = Arc::new(ChatShared::default());
    let mut tasks = JoinSet::new();
    for (idx, (mut c, room)) in clients.into_iter().enumerate() {
        let shared = shared.clone();
        tasks.spawn(async move {
            let mut next_id = id_base;
            let r = drive(&mut c, (idx, nodes), &room, pace, w, &shared, &mut next_id).await;
            r.map(|()| (c, room))
        });
    }
    let mut back = Vec::new();
    while let Some(r) = tasks.join_next().await {
        back.push(r??);
    }
    Ok((back, shared))
}

/// Scenario 4: `chat_clients` guests in `chat_rooms` rooms send `send` with acks: first in a
/// closed loop (saturation), then open-loop at half the saturation rate (latency), and, given
/// `equal_rate` (another server's half rate), open-loop at that rate too (`equal_*`), so that
/// two servers' latencies can be compared under the same offered load.
/// With several `addrs` (a cluster's nodes) the clients are spread over them, and deliveries
/// of messages sent through another node are also timed apart (`*_cross_delivery`).
pub async fn chat(addrs: Vec<SocketAddr>, plan: &Plan, equal_rate: Option<f64>) -> Result<Metrics> {
    let clients = populate(&addrs, plan.chat_clients, plan.chat_rooms).await?;
    let nodes = addrs.len();
    let mut m = Metrics::new();

    let w = Window::new(plan.warm, plan.measure);
    let usage = crate::cpu::during(w);
    let (clients, sat) = phase((clients, nodes), Pace::Closed, w, 1_000).await?;
    let sat_rate = sat.acks.load(Relaxed) as f64 / w.secs();
    m.insert("sat_msgs_per_s".into(), sat_rate);
    m.insert(
        "sat_deliveries_per_s".into(),
        sat.deliveries.load(Relaxed) as f64 / w.secs(),
    );
    m.insert("sat_errors".into(), sat.errors.load(Relaxed) as f64);
    crate::cpu::add(&mut m, "sat_", usage).await;
    add_latency(&mut m, "sat_ack", &sat.ack_hist.snapshot());
    add_latency(&mut m, "sat_delivery", &sat.delivery_hist.snapshot());
    if nodes > 1 {
        add_latency(&mut m, "sat_cross_delivery", &sat.cross_hist.snapshot());
    }

    let half = (sat_rate / 2.0).max(1.0);
    let clients = open_phase(
        (clients, nodes),
        plan,
        (half, 1_000_000_000),
        "half_",
        &mut m,
    )
    .await?;
    if let Some(rate) = equal_rate {
        open_phase(
            (clients, nodes),
            plan,
            (rate.max(1.0), 2_000_000_000),
            "equal_",
            &mut m,
        )
        .await?;
    }
    Ok(m)
}

/// One open-loop phase at `rate` messages per second over all clients, its figures under
/// `prefix`: after a pause, so the previous phase's backlog is gone. Message ids start at
/// `id_base`, apart from every other phase's.
async fn open_phase(
    (clients, nodes): (Vec<(WsClient, String)>, usize),
    plan: &Plan,
    (rate, id_base): (f64, u64),
    prefix: &str,
    m: &mut Metrics,
) -> Result<Vec<(WsClient, String)>> {
    eio::pause(1_000).await;
    let period = Duration::from_secs_f64(plan.chat_clients as f64 / rate);
    let w = Window::new(plan.warm, plan.measure);
    let usage = crate::cpu::during(w);
    let (clients, h) = phase((clients, nodes), Pace::Open(period), w, id_base).await?;
    let per_s = |n: u64| n as f64 / w.secs();
    m.insert(format!("{prefix}target_msgs_per_s"), rate);
    m.insert(format!("{prefix}msgs_per_s"), per_s(h.acks.load(Relaxed)));
    m.insert(format!("{prefix}sent_per_s"), per_s(h.sent.load(Relaxed)));
    m.insert(
        format!("{prefix}deliveries_per_s"),
        per_s(h.deliveries.load(Relaxed)),
    );
    m.insert(format!("{prefix}errors"), h.errors.load(Relaxed) as f64);
    crate::cpu::add(m, prefix, usage).await;
    add_latency(m, &format!("{prefix}ack"), &h.ack_hist.snapshot());
    add_latency(m, &format!("{prefix}delivery"), &h.delivery_hist.snapshot());
    if nodes > 1 {
        add_latency(
            m,
            &format!("{prefix}cross_delivery"),
            &h.cross_hist.snapshot(),
        );
    }
    Ok(clients)
}

/// Scenario 5: `bot_viewers` guests in one room with the bot; one of them mentions it, the
/// fake LLM streams `bot_tokens` tokens at `bot_rate` per second, and every viewer times each
/// token from the moment the fake wrote it to the `bot:delta` that brought it.
pub async fn bot(addr: SocketAddr, plan: &Plan, llm: FakeLlm) -> Result<Metrics> {
    let mut clients = populate(&[addr], plan.bot_viewers, 1).await?;
    let room = clients
        .first()
        .map(|(_, r)| r.clone())
        .ok_or("no viewers")?;
    let (first, _) = clients.first_mut().ok_or("no viewers")?;
    call(
        first,
        3,
        "add",
        &format!("{{\"room\":\"{room}\",\"user\":\"bot\"}}"),
    )
    .await?;

    let token_hist = SharedHist::default();
    let delta_hist = SharedHist::default();
    let deltas = Arc::new(AtomicU64::new(0));
    let tokens = Arc::new(AtomicU64::new(0));
    let ends = Arc::new(AtomicU64::new(0));
    let mut asker = None;
    let mut viewers = JoinSet::new();
    for (i, (mut c, _)) in clients.into_iter().enumerate() {
        if i == 0 {
            asker = Some(c);
            continue;
        }
        let (th, dh, llm) = (token_hist.clone(), delta_hist.clone(), llm.clone());
        let (deltas, tokens, ends) = (deltas.clone(), tokens.clone(), ends.clone());
        viewers.spawn(async move {
            let mut lat = Vec::new();
            while let Ok(t) = c.recv().await {
                if is_event(&t, "", "bot:delta") {
                    let now = now_us();
                    let text = json_str_field(&t, "text").unwrap_or_default();
                    lat.clear();
                    let mut newest = 0;
                    for tok in text.split_whitespace() {
                        if let Some(at) = tok
                            .strip_prefix('w')
                            .and_then(|n| n.parse::<usize>().ok())
                            .and_then(|n| llm.emitted(n))
                        {
                            lat.push(now.saturating_sub(at));
                            newest = newest.max(at);
                        }
                    }
                    if !lat.is_empty() {
                        th.record_all(&lat);
                        dh.record(now.saturating_sub(newest));
                        deltas.fetch_add(1, Relaxed);
                        tokens.fetch_add(lat.len() as u64, Relaxed);
                    }
                } else if is_event(&t, "", "bot:end") {
                    ends.fetch_add(1, Relaxed);
                }
            }
        });
    }
    let mut asker = asker.ok_or("no asker")?;
    let args =
        format!("{{\"room\":\"{room}\",\"text\":\"@bot stream please\",\"clientId\":\"ask-1\"}}");
    let t0 = Instant::now();
    let usage = crate::cpu::during(Window {
        from: t0,
        until: t0 + Duration::from_secs_f64(plan.bot_tokens as f64 / plan.bot_rate as f64),
    });
    call(&mut asker, 10, "send", &args).await?;
    let expected_viewers = (plan.bot_viewers - 1) as u64;
    let limit = Duration::from_secs_f64(plan.bot_tokens as f64 / plan.bot_rate as f64 + 20.0);
    while ends.load(Relaxed) < expected_viewers && t0.elapsed() < limit {
        tokio::select! {
            r = asker.recv() => { r?; }
            () = eio::pause(50) => {}
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    viewers.abort_all();
    let mut m = Metrics::new();
    crate::cpu::add(&mut m, "", usage).await;
    let got = tokens.load(Relaxed);
    m.insert("viewers".into(), expected_viewers as f64);
    m.insert("viewers_done".into(), ends.load(Relaxed) as f64);
    m.insert(
        "tokens_complete".into(),
        got as f64 / (expected_viewers as f64 * plan.bot_tokens as f64),
    );
    m.insert(
        "deltas_per_viewer".into(),
        deltas.load(Relaxed) as f64 / expected_viewers as f64,
    );
    m.insert("token_deliveries_per_s".into(), got as f64 / elapsed);
    add_latency(&mut m, "token", &token_hist.snapshot());
    add_latency(&mut m, "delta", &delta_hist.snapshot());
    Ok(m)
}

/// What the members of the chat flood share.
struct Flood {
    /// Messages sent (their `seq`s are 1 to this: the room is new).
    messages: u64,
    /// Distinct `seq`s received, summed over the members.
    received: AtomicU64,
    /// Of those, the ones that first came in a `messages` replay batch.
    replayed: AtomicU64,
    /// `seq`s a member received again.
    duplicates: AtomicU64,
    /// `send`s acked `{ok:true}`, and refused.
    acked: AtomicU64,
    refused: AtomicU64,
    /// Members whose connection ended (closed by the server or a transport error).
    closed: AtomicU64,
    /// Time of the last new delivery, and of the last packet of any kind (µs).
    last: AtomicU64,
    last_packet: AtomicU64,
    /// From the stamp in the text to the first arrival of each message at each member.
    hist: SharedHist,
    first_error: Mutex<Option<String>>,
}

impl Flood {
    fn error(&self, text: String) {
        if let Ok(mut e) = self.first_error.lock() {
            e.get_or_insert(text);
        }
    }
}

/// The `seq`s one member has seen: a bit per message.
struct Seen(Vec<u64>);

impl Seen {
    fn new(messages: u64) -> Self {
        Self(vec![0; usize::try_from(messages / 64 + 1).unwrap_or(1)])
    }

    /// Whether `seq` is new to this member (`None`: not a message of the flood).
    fn insert(&mut self, seq: u64) -> Option<bool> {
        let word = self.0.get_mut(usize::try_from(seq / 64).ok()?)?;
        let bit = 1u64 << (seq % 64);
        let new = *word & bit == 0;
        *word |= bit;
        Some(new)
    }
}

/// One member of the flood: reads until its connection ends, counting each `seq` it gets live
/// (`message`) or replayed (`messages` batches), and the acks of the `send`s (the sender's).
async fn flood_member(mut c: WsClient, f: Arc<Flood>) {
    let mut seen = Seen::new(f.messages);
    let (mut seqs, mut stamps) = (Vec::new(), Vec::new());
    loop {
        let t = match c.recv().await {
            Ok(t) => t,
            Err(e) => {
                f.closed.fetch_add(1, Relaxed);
                f.error(format!("a member's connection ended: {e}"));
                return;
            }
        };
        let now = now_us();
        f.last_packet.store(now, Relaxed);
        if ack_id(&t, "").is_some() {
            if t.contains("\"ok\":true") {
                f.acked.fetch_add(1, Relaxed);
            } else {
                f.refused.fetch_add(1, Relaxed);
                f.error(format!("a `send` was refused: `{:.200}`", &*t));
            }
            continue;
        }
        let batch = is_event(&t, "", "messages");
        if !batch && !is_event(&t, "", "message") {
            continue;
        }
        seqs.clear();
        stamps.clear();
        for_each_seq(&t, |s| seqs.push(s));
        for_each_stamp(&t, |ts, _| stamps.push(now.saturating_sub(ts)));
        let (mut new, mut dup) = (0u64, 0u64);
        for (i, &seq) in seqs.iter().enumerate() {
            match seen.insert(seq) {
                Some(true) => {
                    new += 1;
                    // One stamp per message, in the same order as the `seq`s.
                    if let Some(&lat) = stamps.get(i) {
                        f.hist.record(lat);
                    }
                }
                Some(false) => dup += 1,
                None => {}
            }
        }
        if new > 0 {
            f.received.fetch_add(new, Relaxed);
            if batch {
                f.replayed.fetch_add(new, Relaxed);
            }
            f.last.store(now, Relaxed);
        }
        if dup > 0 {
            f.duplicates.fetch_add(dup, Relaxed);
        }
    }
}

/// Scenario 3's flood on the chat protocol: `members` guests in one new room; one of them
/// writes `messages` `send {room, text, clientId}` back to back (each asking for an ack, none
/// awaited before the next), then every member counts the distinct `seq`s it got, live or
/// replayed (the slow-reader policy of `docs/PROTOCOL.md`), until all arrived or nothing
/// came for 3 s once every `send` was acked.
/// With several `addrs` the members are spread over them; the writer is on the first.
pub async fn flood(addrs: Vec<SocketAddr>, members: usize, messages: usize) -> Result<Metrics> {
    let mut clients = populate(&addrs, members, 1).await?;
    let room = clients
        .first()
        .map(|(_, r)| r.clone())
        .ok_or("no members")?;
    let (mut sender, _) = clients.swap_remove(0);
    let n = messages as u64;
    let f = Arc::new(Flood {
        messages: n,
        received: AtomicU64::new(0),
        replayed: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        last: AtomicU64::new(0),
        last_packet: AtomicU64::new(now_us()),
        hist: SharedHist::default(),
        first_error: Mutex::new(None),
    });
    let mut readers = JoinSet::new();
    for (c, _) in clients {
        readers.spawn(flood_member(c, f.clone()));
    }
    // Let the joins' own traffic (presence, joined) pass first.
    let settle_end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < settle_end
        && now_us().saturating_sub(f.last_packet.load(Relaxed)) < 300_000
    {
        tokio::select! {
            r = sender.recv() => { r?; }
            () = eio::pause(50) => {}
        }
    }

    let pad = "x".repeat(80);
    let t0 = now_us();
    for k in 1..=n {
        let args = format!(
            "{{\"room\":\"{room}\",\"text\":\"{} {pad}\",\"clientId\":\"flood-{k}\"}}",
            stamp(now_us(), k)
        );
        sender
            .feed(sender.event_with_ack(100 + k, "send", &args))
            .await?;
    }
    sender.flush().await?;
    let written_s = now_us().saturating_sub(t0) as f64 / 1e6;
    readers.spawn(flood_member(sender, f.clone()));

    let expected = n * members as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        eio::pause(50).await;
        let answered = f.acked.load(Relaxed) + f.refused.load(Relaxed) >= n;
        let all_in = f.received.load(Relaxed) >= expected;
        let quiet = now_us().saturating_sub(f.last_packet.load(Relaxed)) > 3_000_000;
        let gone = f.closed.load(Relaxed) >= members as u64;
        if (answered && (all_in || quiet)) || gone || Instant::now() > deadline {
            break;
        }
    }
    readers.abort_all();
    if let Some(e) = f.first_error.lock().ok().and_then(|mut e| e.take()) {
        crate::note(format!("chat flood: {e}"));
    }
    let got = f.received.load(Relaxed);
    let span = f.last.load(Relaxed).saturating_sub(t0).max(1);
    let mut m = Metrics::new();
    m.insert("flood_expected".into(), expected as f64);
    m.insert("flood_received".into(), got as f64);
    m.insert("flood_lost".into(), expected.saturating_sub(got) as f64);
    m.insert("flood_duplicates".into(), f.duplicates.load(Relaxed) as f64);
    m.insert("flood_replayed".into(), f.replayed.load(Relaxed) as f64);
    m.insert("flood_acked".into(), f.acked.load(Relaxed) as f64);
    m.insert("flood_refused".into(), f.refused.load(Relaxed) as f64);
    m.insert("flood_closed".into(), f.closed.load(Relaxed) as f64);
    m.insert("flood_written_s".into(), written_s);
    m.insert("flood_last_s".into(), span as f64 / 1e6);
    m.insert(
        "flood_deliveries_per_s".into(),
        got as f64 / span as f64 * 1e6,
    );
    add_latency(&mut m, "flood", &f.hist.snapshot());
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_counts_each_seq_once_and_ignores_others() {
        let mut seen = Seen::new(130);
        assert_eq!(seen.insert(1), Some(true));
        assert_eq!(seen.insert(1), Some(false));
        assert_eq!(seen.insert(130), Some(true));
        assert_eq!(seen.insert(64), Some(true));
        assert_eq!(seen.insert(10_000), None);
    }

    #[test]
    fn ack_data_reads_the_envelope() {
        let ok = ack_data(r#"43101[{"ok":true,"data":{"id":"m1","seq":3,"ts":5}}]"#);
        assert_eq!(ok.ok().and_then(|d| d["seq"].as_u64()), Some(3));
        assert!(ack_data(r#"437[{"ok":false,"error":{"code":"forbidden"}}]"#).is_err());
    }
}
