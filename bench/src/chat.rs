//! Scenarios 4 and 5: the chat protocol itself (`docs/PROTOCOL.md`), against the chat server
//! (or the Node subset of it).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use tokio::task::JoinSet;

use crate::{
    Plan,
    eio::{
        self, Result, WsClient, ack_id, for_each_stamp, is_event, json_str_field, now_us, stamp,
    },
    fakellm::FakeLlm,
    load::{Window, connect_many},
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

/// Connects `n` guests and puts them in `rooms` rooms (created by the first of each);
/// returns each client with its room id.
async fn populate(addr: SocketAddr, n: usize, rooms: usize) -> Result<Vec<(WsClient, String)>> {
    let clients = connect_many(addr, 0, n, "", |i| {
        Some(format!("{{\"name\":\"guest{i}\"}}"))
    })
    .await?;
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
        .buffer_unordered(128)
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
        .buffer_unordered(128)
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
    idx: usize,
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
                stamp(ts, id)
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
            for_each_stamp(&t, |ts, _| {
                shared.deliveries.fetch_add(1, Relaxed);
                shared.delivery_hist.record(now.saturating_sub(ts));
            });
        }
    }
    Ok(())
}

/// Runs every client through one window; gives the clients back.
async fn phase(
    clients: Vec<(WsClient, String)>,
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
            let r = drive(&mut c, idx, &room, pace, w, &shared, &mut next_id).await;
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
/// closed loop (saturation), then open-loop at half the saturation rate (latency).
pub async fn chat(addr: SocketAddr, plan: &Plan) -> Result<Metrics> {
    let clients = populate(addr, plan.chat_clients, plan.chat_rooms).await?;
    let mut m = Metrics::new();

    let w = Window::new(plan.warm, plan.measure);
    let usage = crate::cpu::during(w);
    let (clients, sat) = phase(clients, Pace::Closed, w, 1_000).await?;
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

    eio::pause(1_000).await;
    let half = (sat_rate / 2.0).max(1.0);
    let period = Duration::from_secs_f64(plan.chat_clients as f64 / half);
    let w = Window::new(plan.warm, plan.measure);
    let usage = crate::cpu::during(w);
    let (_clients, h) = phase(clients, Pace::Open(period), w, 1_000_000_000).await?;
    m.insert("half_target_msgs_per_s".into(), half);
    m.insert(
        "half_msgs_per_s".into(),
        h.acks.load(Relaxed) as f64 / w.secs(),
    );
    m.insert(
        "half_sent_per_s".into(),
        h.sent.load(Relaxed) as f64 / w.secs(),
    );
    m.insert(
        "half_deliveries_per_s".into(),
        h.deliveries.load(Relaxed) as f64 / w.secs(),
    );
    m.insert("half_errors".into(), h.errors.load(Relaxed) as f64);
    crate::cpu::add(&mut m, "half_", usage).await;
    add_latency(&mut m, "half_ack", &h.ack_hist.snapshot());
    add_latency(&mut m, "half_delivery", &h.delivery_hist.snapshot());
    Ok(m)
}

/// Scenario 5: `bot_viewers` guests in one room with the bot; one of them mentions it, the
/// fake LLM streams `bot_tokens` tokens at `bot_rate` per second, and every viewer times each
/// token from the moment the fake wrote it to the `bot:delta` that brought it.
pub async fn bot(addr: SocketAddr, plan: &Plan, llm: FakeLlm) -> Result<Metrics> {
    let mut clients = populate(addr, plan.bot_viewers, 1).await?;
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
