//! The room bus over Redis: every node publishes its rooms' events on one channel,
//! `<prefix>:bus`, and every node hands those of other nodes to its own feeds.
//!
//! A node's own events go to its feeds at once, in process (so its clients are served while
//! Redis is away), and to Redis through the connection's ordered outbox. Each node keeps the
//! reply streaming in every room from the events it receives, so a late joiner on any node
//! gets the snapshot. Redis pub/sub may lose events (an outage, a node cut off): when the
//! connection is back, every room followed here gets [`Event::Resync`] and its feed replays
//! from storage what its sockets lack.

use std::{borrow::Cow, sync::Arc};

use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::redis::{Link, Redis};
use crate::{
    room::{
        MemoryBus, RoomBus,
        bus::{Delta, Entry, Event, Kind, Notice, Streaming, Subscription},
    },
    store::Pos,
    wire::{BotEnd, BotStart, Message},
};

/// The notices that travel between nodes (their names are `'static` in process).
const NOTICES: [&str; 4] = ["presence", "typing", "read", "bot:queued"];

/// One event as it travels between nodes.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope<'a> {
    /// The node that published it (and delivered it to its own feeds already).
    node: Cow<'a, str>,
    room: Cow<'a, str>,
    event: Wire,
    /// When it was published, in ms since the epoch on the publisher's clock (for the bus lag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
enum Wire {
    Logged {
        seq: i64,
        rev: i64,
        kind: WireKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<Arc<BotEnd>>,
        message: Arc<Message>,
    },
    Start {
        start: Arc<BotStart>,
    },
    Delta {
        id: String,
        n: u64,
        text: String,
    },
    Notice {
        event: String,
        data: serde_json::Value,
        except_user: Option<String>,
    },
    Resync,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum WireKind {
    New,
    Edited,
    Reacted,
    Deleted,
    Ended,
}

impl Wire {
    fn from_event(event: &Event) -> Self {
        match event {
            Event::Logged(entry) => {
                let (kind, end) = match &entry.kind {
                    Kind::New => (WireKind::New, None),
                    Kind::Edited => (WireKind::Edited, None),
                    Kind::Reacted => (WireKind::Reacted, None),
                    Kind::Deleted => (WireKind::Deleted, None),
                    Kind::Ended(end) => (WireKind::Ended, Some(end.clone())),
                };
                Self::Logged {
                    seq: entry.pos.seq,
                    rev: entry.pos.rev,
                    kind,
                    end,
                    message: entry.message.clone(),
                }
            }
            Event::Start(start) => Self::Start {
                start: start.clone(),
            },
            Event::Delta(delta) => Self::Delta {
                id: delta.id.clone(),
                n: delta.n,
                text: delta.text.clone(),
            },
            Event::Notice(notice) => Self::Notice {
                event: notice.event.to_owned(),
                data: notice.data.clone(),
                except_user: notice.except_user.clone(),
            },
            Event::Resync => Self::Resync,
        }
    }

    fn into_event(self) -> Option<Event> {
        Some(match self {
            Self::Logged {
                seq,
                rev,
                kind,
                end,
                message,
            } => {
                let kind = match (kind, end) {
                    (WireKind::New, _) => Kind::New,
                    (WireKind::Edited, _) => Kind::Edited,
                    (WireKind::Reacted, _) => Kind::Reacted,
                    (WireKind::Deleted, _) => Kind::Deleted,
                    (WireKind::Ended, Some(end)) => Kind::Ended(end),
                    (WireKind::Ended, None) => return None,
                };
                Event::Logged(Arc::new(Entry {
                    pos: Pos { seq, rev },
                    kind,
                    message,
                }))
            }
            Self::Start { start } => Event::Start(start),
            Self::Delta { id, n, text } => Event::Delta(Arc::new(Delta { id, n, text })),
            Self::Notice {
                event,
                data,
                except_user,
            } => Event::Notice(Arc::new(Notice {
                event: NOTICES.into_iter().find(|n| *n == event)?,
                data,
                except_user,
            })),
            Self::Resync => Event::Resync,
        })
    }
}

/// The bus of a cluster node.
#[derive(Debug)]
pub struct RedisBus {
    local: Arc<MemoryBus>,
    redis: Redis,
    node: String,
    channel: String,
}

impl RedisBus {
    /// `node`'s bus on the cluster `prefix`: follows the bus channel from now on.
    pub async fn start(redis: Redis, prefix: &str, node: &str) -> redis::RedisResult<Self> {
        let local = Arc::new(MemoryBus::default());
        let channel = format!("{prefix}:bus");
        let (me, into) = (node.to_owned(), local.clone());
        redis
            .subscribe(&channel, move |link| receive(&into, &me, link))
            .await?;
        Ok(Self {
            local,
            redis,
            node: node.to_owned(),
            channel,
        })
    }
}

/// Records how long an event took from another node's publication to here.
fn record_lag(sent: Option<i64>) {
    if let Some(sent) = sent {
        let lag = (crate::clock::now_ms() - sent).max(0) as f64 / 1000.0;
        ::metrics::histogram!(crate::metrics::CLUSTER_BUS_LAG_SECONDS).record(lag);
    }
}

/// What arrives on the bus channel, handed to this node's feeds.
fn receive(local: &MemoryBus, me: &str, link: Link) {
    match link {
        Link::Message(payload) => match serde_json::from_slice::<Envelope<'_>>(&payload) {
            Ok(envelope) if envelope.node == me => {}
            Ok(envelope) => {
                record_lag(envelope.sent);
                match envelope.event.into_event() {
                    Some(event) => local.publish(&envelope.room, event),
                    None => debug!("bus: an event this node does not know, skipped"),
                }
            }
            Err(e) => warn!(cause = %e, "bus: a message that does not decode, skipped"),
        },
        Link::Back => {
            for room in local.room_ids() {
                local.publish(&room, Event::Resync);
            }
        }
    }
}

impl RoomBus for RedisBus {
    fn publish(&self, room: &str, event: Event) {
        let envelope = Envelope {
            node: Cow::Borrowed(&self.node),
            room: Cow::Borrowed(room),
            event: Wire::from_event(&event),
            sent: Some(crate::clock::now_ms()),
        };
        match serde_json::to_vec(&envelope) {
            Ok(payload) => self.redis.publish(&self.channel, payload),
            Err(e) => warn!(cause = %e, "bus: an event that does not encode"),
        }
        self.local.publish(room, event);
    }

    fn subscribe(&self, room: &str) -> Subscription {
        self.local.subscribe(room)
    }

    fn streaming(&self, room: &str) -> Option<Streaming> {
        self.local.streaming(room)
    }

    fn unsubscribed(&self, room: &str) {
        self.local.unsubscribed(room);
    }
}
