//! Plain events between nodes in the wire format of `@socket.io/redis-emitter` 5, so that every
//! existing emitter (Node's, and its ports to Python, PHP, Go, Java) publishes into this server.
//!
//! An emitter with `key` K publishes msgpack `[uid, packet, opts]` on `K#/#` (or `K#/#R#` when
//! it targets the one room R): `packet` is `{ type: 2, data: [event, ...args], nsp }`, `opts`
//! is `{ rooms, except, flags }`. A node follows `<prefix>#/#*`, so the emitter's `key` is the
//! `--redis-prefix`; it delivers what targets the chat namespace `/` to its own sockets (see
//! `chat::broadcast` for what a target means). A node publishes its own broadcasts (the HTTP
//! API's `emit`) the same way, delivering them to its own sockets at once and skipping them
//! when they come back; while Redis is down they reach this node's sockets only.

use std::sync::Arc;

use rmpv::Value;
use tokio::sync::broadcast;
use tracing::{debug, warn};

use super::redis::{Link, Redis};
use crate::ports::{Broadcast, Broadcasts, MemoryBroadcasts};

/// socket.io's packet type of an event (`5`, a binary event, is accepted too).
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// Plain events of a cluster node, over the emitter's channels.
#[derive(Debug)]
pub struct RedisBroadcasts {
    local: Arc<MemoryBroadcasts>,
    redis: Redis,
    /// `<prefix>#/#`.
    channel: String,
    /// This node's uid in what it publishes.
    uid: String,
}

impl RedisBroadcasts {
    /// `node`'s plain events on the cluster `prefix`.
    pub async fn start(redis: Redis, prefix: &str, node: &str) -> redis::RedisResult<Self> {
        let local = Arc::new(MemoryBroadcasts::default());
        let channel = format!("{prefix}#/#");
        let uid = format!("node:{node}");
        let (me, into) = (uid.clone(), local.clone());
        redis
            .psubscribe(&format!("{channel}*"), move |link| match link {
                Link::Message(payload) => match decode(&payload) {
                    Ok(Some((uid, _))) if uid == me => {}
                    Ok(Some((_, event))) => into.deliver(event),
                    Ok(None) => {}
                    Err(e) => warn!(cause = e, "emitter: a message that does not decode"),
                },
                // Plain events are volatile: one lost in an outage stays lost.
                Link::Back => {}
            })
            .await?;
        Ok(Self {
            local,
            redis,
            channel,
            uid,
        })
    }
}

impl Broadcasts for RedisBroadcasts {
    fn publish(&self, event: Broadcast) {
        let channel = match event.to.as_slice() {
            [room] => format!("{}{room}#", self.channel),
            _ => self.channel.clone(),
        };
        self.redis.publish(&channel, encode(&self.uid, &event));
        self.local.deliver(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.local.subscribe()
    }
}

/// The value under `key` in a msgpack map.
fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// The strings of a msgpack array (anything else in it is skipped).
fn strings(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An emitter's message: its sender's uid and the event, or `None` when it is not an event for
/// the chat namespace.
pub fn decode(payload: &[u8]) -> Result<Option<(String, Broadcast)>, &'static str> {
    let value = rmpv::decode::read_value(&mut &payload[..]).map_err(|_| "not msgpack")?;
    let [uid, packet, opts] = value.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return Err("not [uid, packet, opts]");
    };
    let uid = uid.as_str().unwrap_or_default().to_owned();
    let kind = field(packet, "type").and_then(Value::as_u64);
    let nsp = field(packet, "nsp").and_then(Value::as_str).unwrap_or("/");
    if nsp != "/" || !matches!(kind, Some(EVENT | BINARY_EVENT)) {
        debug!(
            nsp,
            ?kind,
            "emitter: not an event for the chat namespace, ignored"
        );
        return Ok(None);
    }
    let Some([name, args @ ..]) = field(packet, "data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return Err("an event without data");
    };
    let event = name.as_str().ok_or("an event name that is not a string")?;
    Ok(Some((
        uid,
        Broadcast {
            to: strings(field(opts, "rooms")),
            except: strings(field(opts, "except")),
            event: event.to_owned(),
            args: args.to_vec(),
        },
    )))
}

/// `event` as an emitter sends it, from `uid`.
pub fn encode(uid: &str, event: &Broadcast) -> Vec<u8> {
    let list =
        |items: &[String]| Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect());
    let mut data = Vec::with_capacity(event.args.len() + 1);
    data.push(Value::from(event.event.as_str()));
    data.extend(event.args.iter().cloned());
    let message = Value::Array(vec![
        Value::from(uid),
        Value::Map(vec![
            (Value::from("type"), Value::from(EVENT)),
            (Value::from("data"), Value::Array(data)),
            (Value::from("nsp"), Value::from("/")),
        ]),
        Value::Map(vec![
            (Value::from("rooms"), list(&event.to)),
            (Value::from("flags"), Value::Map(Vec::new())),
            (Value::from("except"), list(&event.except)),
        ]),
    ]);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    rmpv::encode::write_value(&mut out, &message).ok();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Broadcast {
        Broadcast {
            to: vec!["general".into(), "user:ann".into()],
            except: vec!["user:bob".into()],
            event: "notice".into(),
            args: vec![
                Value::from("hi"),
                Value::Binary(vec![1, 2, 3]),
                Value::from(7),
            ],
        }
    }

    #[test]
    fn what_a_node_encodes_decodes_to_the_same_event_and_sender() {
        let (uid, back) = decode(&encode("node:a", &event()))
            .expect("decodes")
            .expect("an event");
        assert_eq!(uid, "node:a");
        assert_eq!(back, event());
    }

    #[test]
    fn another_namespace_or_packet_type_is_ignored() {
        let message = |nsp: &str, kind: u64| {
            let v = Value::Array(vec![
                Value::from("emitter"),
                Value::Map(vec![
                    (Value::from("type"), Value::from(kind)),
                    (Value::from("data"), Value::Array(vec![Value::from("x")])),
                    (Value::from("nsp"), Value::from(nsp)),
                ]),
                Value::Map(Vec::new()),
            ]);
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &v).expect("encodes");
            out
        };
        assert_eq!(decode(&message("/admin", EVENT)), Ok(None));
        assert_eq!(decode(&message("/", 3)), Ok(None));
        let (_, event) = decode(&message("/", EVENT))
            .expect("decodes")
            .expect("event");
        assert_eq!((event.to.len(), event.except.len()), (0, 0));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        assert!(decode(b"").is_err());
        assert!(decode(b"\x92\xa1a\xa1b").is_err());
        let mut out = Vec::new();
        let no_data = Value::Array(vec![
            Value::from("e"),
            Value::Map(vec![(Value::from("type"), Value::from(EVENT))]),
            Value::Nil,
        ]);
        rmpv::encode::write_value(&mut out, &no_data).expect("encodes");
        assert!(decode(&out).is_err());
    }
}
