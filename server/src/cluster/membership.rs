//! Membership events over Redis: each node publishes "user U joined or left room R" on
//! `<prefix>:members`, and hears those of the others. When the connection comes back after an
//! outage, the node resyncs its sockets' rooms from storage ([`Told::Resync`]).

use std::sync::Arc;

use tokio::sync::broadcast;
use tracing::warn;

use super::redis::{Link, Redis};
use crate::ports::{MemberEvent, Membership, Told, membership::CAPACITY};

/// Membership events of a cluster node.
#[derive(Debug)]
pub struct RedisMembership {
    tx: broadcast::Sender<Told>,
    redis: Redis,
    channel: String,
}

impl RedisMembership {
    /// `node`'s membership events on the cluster `prefix`.
    pub async fn start(redis: Redis, prefix: &str, node: &str) -> redis::RedisResult<Self> {
        let tx = broadcast::channel(CAPACITY).0;
        let channel = format!("{prefix}:members");
        let (me, into) = (node.to_owned(), tx.clone());
        redis
            .subscribe(&channel, move |link| match link {
                Link::Message(payload) => match serde_json::from_slice::<MemberEvent>(&payload) {
                    // This node applied its own events when it made them.
                    Ok(event) if event.node == me => {}
                    Ok(event) => {
                        into.send(Told::Changed(Arc::new(event))).ok();
                    }
                    Err(e) => warn!(cause = %e, "membership: a message that does not decode"),
                },
                Link::Back => {
                    into.send(Told::Resync).ok();
                }
            })
            .await?;
        Ok(Self { tx, redis, channel })
    }
}

impl Membership for RedisMembership {
    fn publish(&self, event: MemberEvent) {
        match serde_json::to_vec(&event) {
            Ok(payload) => self.redis.publish(&self.channel, payload),
            Err(e) => warn!(cause = %e, "membership: an event that does not encode"),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Told> {
        self.tx.subscribe()
    }
}
