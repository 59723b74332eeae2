//! Presence over Redis: who is online in each room, counted per user and per node, so that a
//! node that dies can have its share dropped by another ([`RedisPresence::drop_node`]).
//!
//! Keys, under the cluster's prefix `p`:
//! - `p:pr:<room>`: a hash of the users online in the room (user id → name);
//! - `p:pc:<len>:<room>:<user>`: a hash of that user's sockets there per node (node → count);
//! - `p:pn:<node>`: the set of `[room, user]` pairs the node counts, for dropping its share.
//!
//! Each change is one Lua script, so two nodes changing the same user never race. When Redis
//! cannot be reached, a change is logged and counted, and announces nothing.

use std::sync::LazyLock;

use futures_util::future::{BoxFuture, FutureExt};
use redis::Script;

use super::redis::Redis;
use crate::{
    ports::{Presence, Presences},
    wire::User,
};

static ARRIVE: LazyLock<Script> = LazyLock::new(|| Script::new(ARRIVE_LUA));
static DEPART: LazyLock<Script> = LazyLock::new(|| Script::new(DEPART_LUA));
static DROP_NODE: LazyLock<Script> = LazyLock::new(|| Script::new(DROP_NODE_LUA));

const ARRIVE_LUA: &str = r"
local before = redis.call('HLEN', KEYS[2])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
if before == 0 then return 1 end
return 0
";

const DEPART_LUA: &str = r"
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Drops a node's share; returns the flattened (room, user id, name) of users now offline.
const DROP_NODE_LUA: &str = r"
local gone = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local pair = cjson.decode(member)
  local room, user = pair[1], pair[2]
  local counts = ARGV[1] .. ':pc:' .. string.len(room) .. ':' .. room .. ':' .. user
  redis.call('HDEL', counts, ARGV[2])
  if redis.call('HLEN', counts) == 0 then
    local users = ARGV[1] .. ':pr:' .. room
    local name = redis.call('HGET', users, user)
    if name then
      redis.call('HDEL', users, user)
      table.insert(gone, room)
      table.insert(gone, user)
      table.insert(gone, name)
    end
  end
end
redis.call('DEL', KEYS[1])
return gone
";

/// Presence of the nodes of one cluster.
#[derive(Debug, Clone)]
pub struct RedisPresences {
    redis: Redis,
    prefix: String,
}

impl RedisPresences {
    /// Presence on the cluster `prefix`.
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    /// Drops everything `node` counted (it is gone); returns the (room, user) pairs now online
    /// on no node, for their rooms to be told.
    pub async fn drop_node(&self, node: &str) -> redis::RedisResult<Vec<(String, User)>> {
        let flat: Vec<String> = DROP_NODE
            .key(format!("{}:pn:{node}", self.prefix))
            .arg(&self.prefix)
            .arg(node)
            .invoke_async(&mut self.redis.conn())
            .await?;
        Ok(flat
            .chunks_exact(3)
            .map(|c| {
                (
                    c[0].clone(),
                    User {
                        user_id: c[1].clone(),
                        name: c[2].clone(),
                    },
                )
            })
            .collect())
    }
}

impl Presences for RedisPresences {
    fn node(&self, node: &str) -> std::sync::Arc<dyn Presence> {
        std::sync::Arc::new(RedisPresence {
            shared: self.clone(),
            node: node.to_owned(),
        })
    }
}

/// One node's presence in Redis.
#[derive(Debug)]
struct RedisPresence {
    shared: RedisPresences,
    node: String,
}

impl RedisPresence {
    fn keys(&self, room: &str, user_id: &str) -> [String; 3] {
        let p = &self.shared.prefix;
        [
            format!("{p}:pr:{room}"),
            format!("{p}:pc:{}:{room}:{user_id}", room.len()),
            format!("{p}:pn:{}", self.node),
        ]
    }

    async fn run(&self, script: &Script, room: &str, user: &User, with_name: bool) -> bool {
        let [users, counts, mine] = self.keys(room, &user.user_id);
        let member = serde_json::json!([room, user.user_id]).to_string();
        let mut call = script.prepare_invoke();
        call.key(users)
            .key(counts)
            .key(mine)
            .arg(&self.node)
            .arg(&user.user_id);
        if with_name {
            call.arg(&user.name);
        }
        call.arg(member);
        match call
            .invoke_async::<i64>(&mut self.shared.redis.conn())
            .await
        {
            Ok(n) => n == 1,
            Err(e) => {
                self.shared.redis.failed("presence", &e);
                false
            }
        }
    }
}

impl Presence for RedisPresence {
    fn arrive<'a>(&'a self, room: &'a str, user: &'a User) -> BoxFuture<'a, bool> {
        self.run(&ARRIVE, room, user, true).boxed()
    }

    fn depart<'a>(&'a self, room: &'a str, user_id: &'a str) -> BoxFuture<'a, bool> {
        async move {
            let user = User {
                user_id: user_id.to_owned(),
                name: String::new(),
            };
            self.run(&DEPART, room, &user, false).await
        }
        .boxed()
    }

    fn online<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<User>> {
        async move {
            let [users, ..] = self.keys(room, "");
            let map: Vec<(String, String)> =
                match redis::AsyncCommands::hgetall(&mut self.shared.redis.conn(), users).await {
                    Ok(map) => map,
                    Err(e) => {
                        self.shared.redis.failed("presence", &e);
                        Vec::new()
                    }
                };
            let mut users: Vec<User> = map
                .into_iter()
                .map(|(user_id, name)| User { user_id, name })
                .collect();
            users.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
            users
        }
        .boxed()
    }
}
