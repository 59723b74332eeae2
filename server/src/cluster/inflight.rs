//! Requests in flight per user in Redis: `<prefix>:inflight:<user>` is a hash of node → how
//! many of the user's bot requests wait or run there, and `<prefix>:inflight-of:<node>` lists
//! the users a node has counts for, so that a dead node's counts can be taken out by whoever
//! sweeps it. A node's own counts are kept in memory too and are the truth for its field: it
//! writes them whole (never adds), so a write lost in an outage is mended by the next one, and
//! when the connection comes back it writes them all again.
//!
//! While Redis cannot be reached the bound holds per node.

use std::sync::{Arc, LazyLock};

use futures_util::future::{BoxFuture, FutureExt};
use redis::Script;

use super::redis::{Link, Redis};
use crate::ports::{InFlight, MemoryInFlight};

/// 1 if the node's count (ARGV[3], already raised by one) fits under the bound (ARGV[2]) with
/// the other nodes' counts, and is then written; 0 if not. KEYS: the user's hash, the node's
/// user set; ARGV: node, bound, count, user.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local others = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then others = others + tonumber(all[i + 1]) end
end
if others + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
",
    )
});

/// Writes the node's count (ARGV[2]; 0 removes it). KEYS: the user's hash, the node's user
/// set; ARGV: node, count, user.
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[3])
end
return 0
",
    )
});

/// Takes a node's counts out. KEYS: the node's user set; ARGV: the users' hash prefix, node.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for _, user in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HDEL', ARGV[1] .. user, ARGV[2])
end
redis.call('DEL', KEYS[1])
return 0
",
    )
});

/// Requests in flight of a cluster node.
#[derive(Debug)]
pub struct RedisInFlight {
    redis: Redis,
    prefix: String,
    node: String,
    /// This node's own counts.
    mine: MemoryInFlight,
}

impl RedisInFlight {
    /// `node`'s counts on the cluster `prefix`; written again whenever the connection is back.
    pub async fn start(redis: Redis, prefix: &str, node: &str) -> redis::RedisResult<Arc<Self>> {
        let me = Arc::new(Self {
            redis: redis.clone(),
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            mine: MemoryInFlight::default(),
        });
        let weak = Arc::downgrade(&me);
        // Nothing is published there: it is followed to hear that the connection is back.
        redis
            .subscribe(&format!("{prefix}:inflight"), move |link| {
                if let (Link::Back, Some(me)) = (link, weak.upgrade()) {
                    tokio::spawn(async move { me.write_all().await });
                }
            })
            .await?;
        Ok(me)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}:inflight:{user}", self.prefix)
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:inflight-of:{node}", self.prefix)
    }

    /// Writes this node's count for `user` as it is now.
    async fn write(&self, user: &str) {
        let count = self.mine.on(user, &self.node);
        let mut write = WRITE.prepare_invoke();
        write
            .key(self.user_key(user))
            .key(self.node_key(&self.node))
            .arg(&self.node)
            .arg(count)
            .arg(user);
        // Not written: the next write of this user, or of all when Redis is back, mends it.
        self.redis
            .run::<u8>("a count of requests in flight", &write)
            .await;
    }

    /// Writes every count of this node again (the connection is back: Redis may have lost
    /// them, or kept some that ended meanwhile).
    async fn write_all(&self) {
        self.forget(&self.node).await.ok();
        for (user, _) in self.mine.all_on(&self.node) {
            self.write(&user).await;
        }
    }

    /// Takes `node`'s counts out (a dead node, or an earlier run of this one).
    pub async fn forget(&self, node: &str) -> redis::RedisResult<()> {
        FORGET
            .key(self.node_key(node))
            .arg(format!("{}:inflight:", self.prefix))
            .arg(node)
            .invoke_async::<u8>(&mut self.redis.conn())
            .await
            .map(|_| ())
    }
}

impl InFlight for RedisInFlight {
    fn reserve<'a>(&'a self, user: &'a str, node: &'a str, max: usize) -> BoxFuture<'a, bool> {
        async move {
            if !self.mine.reserve_now(user, node, max) {
                return false; // over the bound on this node alone
            }
            let count = self.mine.on(user, node);
            let mut reserve = RESERVE.prepare_invoke();
            reserve
                .key(self.user_key(user))
                .key(self.node_key(node))
                .arg(node)
                .arg(max)
                .arg(count)
                .arg(user);
            let fits = self
                .redis
                .run::<u8>("a count of requests in flight", &reserve);
            // Without an answer from Redis the bound holds on this node alone.
            if fits.await.is_some_and(|f| f == 0) {
                self.mine.release_now(user, node);
                return false;
            }
            true
        }
        .boxed()
    }

    fn release<'a>(&'a self, user: &'a str, node: &'a str) -> BoxFuture<'a, ()> {
        async move {
            self.mine.release_now(user, node);
            self.write(user).await;
        }
        .boxed()
    }
}
