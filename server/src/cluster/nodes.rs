//! Which nodes are alive, and what is done for one that is not.
//!
//! Every node refreshes `<prefix>:alive:<node>` every [`BEAT`] with a lifetime of [`TTL`] and
//! is listed in `<prefix>:nodes`. Every node looks, every [`BEAT`], for listed nodes whose key
//! expired (and, less often, for nodes that storage says are writing replies); the first to
//! claim one (`<prefix>:sweep:<node>`, `SET NX`) takes it out: its users leave presence
//! (`presence` offline events for those online on no other node), its bot requests in flight
//! stop counting, and its streaming replies end
//! with `error.code: "interrupted"`. A node is therefore out of the cluster within `TTL + BEAT`
//! (8 s) of its last beat.
//!
//! When this node's connection to Redis comes back, it counts its sockets' rooms again (Redis
//! may have restarted and kept nothing, or the others may have taken this node for dead).

use std::{collections::BTreeSet, time::Duration};

use redis::AsyncCommands;
use socketioxide::{SocketIo, adapter::Adapter};
use tracing::{info, warn};

use super::Cluster;
use crate::{chat::Chat, wire::PresenceOut};

/// How often a node beats and looks for dead ones.
pub const BEAT: Duration = Duration::from_secs(2);
/// How long a beat keeps a node alive.
pub const TTL: Duration = Duration::from_secs(6);
/// Storage is asked for nodes with streaming replies every this many beats.
const STORE_EVERY: u32 = 5;

impl Cluster {
    fn key(&self, what: &str, node: &str) -> String {
        format!("{}:{what}:{node}", self.prefix)
    }

    /// This node is alive, now.
    async fn beat(&self) -> redis::RedisResult<()> {
        let mut conn = self.redis.conn();
        redis::pipe()
            .set_options(
                self.key("alive", &self.node),
                crate::clock::now_ms(),
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(
                    u64::try_from(TTL.as_millis()).unwrap_or(u64::MAX),
                )),
            )
            .ignore()
            .sadd(format!("{}:nodes", self.prefix), &self.node)
            .ignore()
            .query_async(&mut conn)
            .await
    }

    /// Whether `node` beat within its TTL.
    async fn alive(&self, node: &str) -> redis::RedisResult<bool> {
        self.redis.conn().exists(self.key("alive", node)).await
    }

    /// Takes `node` out of the cluster if this node is the first to claim it.
    async fn sweep<A: Adapter>(&self, chat: &Chat<A>, node: &str) -> redis::RedisResult<()> {
        let claimed: bool = self
            .redis
            .conn()
            .set_options(
                self.key("sweep", node),
                &self.node,
                redis::SetOptions::default()
                    .conditional_set(redis::ExistenceCheck::NX)
                    .with_expiration(redis::SetExpiry::PX(30_000)),
            )
            .await?;
        if !claimed {
            return Ok(());
        }
        let gone = self.presences.drop_node(node).await?;
        self.inflight.forget(node).await?;
        for (room, user) in &gone {
            let note = PresenceOut {
                room: room.clone(),
                user: user.clone(),
                online: false,
            };
            chat.writers
                .notice(room, "presence", &note, Some(&user.user_id));
        }
        let replies = match chat.bot.end_abandoned(node).await {
            Ok(n) => n,
            Err(e) => {
                warn!(cause = %e, node, "cannot end a dead node's replies");
                0
            }
        };
        let _: () = self
            .redis
            .conn()
            .srem(format!("{}:nodes", self.prefix), node)
            .await?;
        info!(
            node,
            offline = gone.len(),
            replies,
            "a dead node was taken out of the cluster"
        );
        Ok(())
    }

    /// The nodes to check: those listed, and now and then those storage names.
    async fn candidates<A: Adapter>(
        &self,
        chat: &Chat<A>,
        with_store: bool,
    ) -> redis::RedisResult<BTreeSet<String>> {
        let mut nodes: BTreeSet<String> = self
            .redis
            .conn()
            .smembers(format!("{}:nodes", self.prefix))
            .await?;
        if with_store {
            match chat.store.streaming_nodes().await {
                Ok(more) => nodes.extend(more),
                Err(e) => warn!(cause = %e, "cannot list the nodes writing replies"),
            }
        }
        nodes.remove(&self.node);
        Ok(nodes)
    }

    /// Joins the cluster: takes out what an earlier run of this node left (its presence, its
    /// replies), beats, and keeps beating and sweeping for as long as the server runs.
    pub async fn join<A: Adapter>(&self, chat: Chat<A>, io: SocketIo<A>) -> anyhow::Result<()> {
        self.presences.drop_node(&self.node).await?;
        self.inflight.forget(&self.node).await?;
        chat.bot.end_abandoned(&self.node).await?;
        self.beat().await?;
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(BEAT);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut rounds = 0u32;
            let mut was_up = true;
            loop {
                every.tick().await;
                rounds = rounds.wrapping_add(1);
                let up = cluster.redis.is_up();
                if up && !was_up {
                    cluster.rebuild(&chat, &io).await;
                }
                was_up = up;
                if !up {
                    continue;
                }
                if let Err(e) = cluster
                    .round(&chat, rounds.is_multiple_of(STORE_EVERY))
                    .await
                {
                    cluster.redis.failed("the node watch", &e);
                }
            }
        });
        Ok(())
    }

    /// Leaves the cluster on a clean stop (its sockets have departed already): the others need
    /// not wait for its beat to lapse.
    pub async fn leave(&self) {
        let mut conn = self.redis.conn();
        let left = redis::pipe()
            .del(self.key("alive", &self.node))
            .ignore()
            .srem(format!("{}:nodes", self.prefix), &self.node)
            .ignore()
            .query_async::<()>(&mut conn)
            .await;
        if let Err(e) = left {
            self.redis.failed("leaving the cluster", &e);
        }
    }

    async fn round<A: Adapter>(&self, chat: &Chat<A>, with_store: bool) -> redis::RedisResult<()> {
        self.beat().await?;
        for node in self.candidates(chat, with_store).await? {
            if !self.alive(&node).await? {
                self.sweep(chat, &node).await?;
            }
        }
        Ok(())
    }

    /// Counts this node's sockets again after Redis was away.
    async fn rebuild<A: Adapter>(&self, chat: &Chat<A>, io: &SocketIo<A>) {
        let dropped = match self.presences.drop_node(&self.node).await {
            Ok(dropped) => dropped,
            Err(e) => return self.redis.failed("rebuilding presence", &e),
        };
        if let Err(e) = self.beat().await {
            self.redis.failed("the node watch", &e);
        }
        chat.reassert_presence(io.sockets(), &dropped).await;
        info!("presence of this node's sockets counted again");
    }
}
