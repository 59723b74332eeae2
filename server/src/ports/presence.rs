//! Who is online in each room, counted per user across all of a user's sockets and per node,
//! so that the share of a node that died can be dropped without touching the others'.
//!
//! Each node holds a [`Presence`] bound to its node id; the in-memory table ([`PresenceTable`])
//! can be shared by several in-process nodes (tests), a Redis one by several processes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures_util::future::{BoxFuture, FutureExt};

use crate::wire::User;

/// Presence as one node sees and changes it.
pub trait Presence: Send + Sync + 'static {
    /// One more socket of `user` in `room` on this node; `true` if the user was online there on
    /// no node before.
    fn arrive<'a>(&'a self, room: &'a str, user: &'a User) -> BoxFuture<'a, bool>;

    /// One socket fewer of `user_id` in `room` on this node; `true` if the user is now online
    /// there on no node.
    fn depart<'a>(&'a self, room: &'a str, user_id: &'a str) -> BoxFuture<'a, bool>;

    /// The users online in `room` on any node, sorted by name.
    fn online<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<User>>;
}

/// Where each node gets its [`Presence`]: the nodes of one cluster share what lies behind it.
pub trait Presences: Send + Sync + std::fmt::Debug + 'static {
    /// `node`'s presence.
    fn node(&self, node: &str) -> Arc<dyn Presence>;
}

impl Presences for PresenceTable {
    fn node(&self, node: &str) -> Arc<dyn Presence> {
        Arc::new(MemoryPresence {
            table: self.shared(),
            node: node.to_owned(),
        })
    }
}

/// One user in one room: their name and their sockets there, per node.
#[derive(Debug, Default)]
struct Entry {
    name: String,
    sockets: HashMap<String, usize>,
}

/// The in-memory table of every node's counts.
#[derive(Debug, Default, Clone)]
pub struct PresenceTable {
    rooms: Arc<Mutex<HashMap<String, HashMap<String, Entry>>>>,
}

impl PresenceTable {
    /// Another handle on the same table.
    fn shared(&self) -> Arc<Self> {
        Arc::new(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Entry>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops everything `node` counted (it is gone); returns the (room, user) pairs that are
    /// now online on no node, for their rooms to be told.
    pub fn drop_node(&self, node: &str) -> Vec<(String, User)> {
        let mut gone = Vec::new();
        let mut rooms = self.lock();
        for (room, users) in rooms.iter_mut() {
            users.retain(|user_id, entry| {
                entry.sockets.remove(node);
                let online = !entry.sockets.is_empty();
                if !online {
                    gone.push((
                        room.clone(),
                        User {
                            user_id: user_id.clone(),
                            name: entry.name.clone(),
                        },
                    ));
                }
                online
            });
        }
        rooms.retain(|_, users| !users.is_empty());
        gone
    }
}

/// A node's view of a [`PresenceTable`].
#[derive(Debug, Clone)]
pub struct MemoryPresence {
    table: Arc<PresenceTable>,
    node: String,
}

impl MemoryPresence {
    /// `node`'s presence in `table`.
    pub fn new(table: Arc<PresenceTable>, node: &str) -> Self {
        Self {
            table,
            node: node.to_owned(),
        }
    }

    /// A table of its own (a single node).
    pub fn single() -> Self {
        Self::new(Arc::default(), "local")
    }

    fn arrive_now(&self, room: &str, user: &User) -> bool {
        let mut rooms = self.table.lock();
        let entry = rooms
            .entry(room.to_owned())
            .or_default()
            .entry(user.user_id.clone())
            .or_insert_with(|| Entry {
                name: user.name.clone(),
                sockets: HashMap::new(),
            });
        let first = entry.sockets.is_empty();
        *entry.sockets.entry(self.node.clone()).or_default() += 1;
        first
    }

    fn depart_now(&self, room: &str, user_id: &str) -> bool {
        let mut rooms = self.table.lock();
        let Some(users) = rooms.get_mut(room) else {
            return false;
        };
        let Some(entry) = users.get_mut(user_id) else {
            return false;
        };
        match entry.sockets.get_mut(&self.node) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                entry.sockets.remove(&self.node);
            }
            None => return false,
        }
        let last = entry.sockets.is_empty();
        if last {
            users.remove(user_id);
            if users.is_empty() {
                rooms.remove(room);
            }
        }
        last
    }

    fn online_now(&self, room: &str) -> Vec<User> {
        let rooms = self.table.lock();
        let mut users: Vec<User> = rooms
            .get(room)
            .map(|users| {
                users
                    .iter()
                    .map(|(id, entry)| User {
                        user_id: id.clone(),
                        name: entry.name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        users.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
        users
    }
}

impl Presence for MemoryPresence {
    fn arrive<'a>(&'a self, room: &'a str, user: &'a User) -> BoxFuture<'a, bool> {
        std::future::ready(self.arrive_now(room, user)).boxed()
    }

    fn depart<'a>(&'a self, room: &'a str, user_id: &'a str) -> BoxFuture<'a, bool> {
        std::future::ready(self.depart_now(room, user_id)).boxed()
    }

    fn online<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<User>> {
        std::future::ready(self.online_now(room)).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User {
            user_id: id.into(),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn only_the_first_socket_arrives_and_only_the_last_departs() {
        let p = MemoryPresence::single();
        let ada = user("u1", "Ada");
        assert!(p.arrive("r", &ada).await);
        assert!(!p.arrive("r", &ada).await);
        assert_eq!(p.online("r").await, vec![ada.clone()]);
        assert!(!p.depart("r", "u1").await);
        assert!(p.depart("r", "u1").await);
        assert!(p.online("r").await.is_empty());
        assert!(!p.depart("r", "u1").await);
    }

    #[tokio::test]
    async fn two_nodes_count_together_and_a_dead_nodes_share_is_dropped() {
        let table = Arc::new(PresenceTable::default());
        let (a, b) = (
            MemoryPresence::new(table.clone(), "a"),
            MemoryPresence::new(table.clone(), "b"),
        );
        let ada = user("u1", "Ada");
        let ben = user("u2", "Ben");
        assert!(a.arrive("r", &ada).await, "Ada's first socket anywhere");
        assert!(!b.arrive("r", &ada).await, "her tab on node b is not news");
        assert!(b.arrive("r", &ben).await);
        assert_eq!(a.online("r").await, vec![ada.clone(), ben.clone()]);
        assert_eq!(b.online("r").await, a.online("r").await, "one view");

        // A node cannot take away another node's socket.
        assert!(!a.depart("r", "u2").await);
        assert_eq!(b.online("r").await.len(), 2);

        // Node b dies: Ben was only there and goes offline; Ada stays (her socket on a).
        assert_eq!(table.drop_node("b"), vec![("r".to_owned(), ben.clone())]);
        assert_eq!(a.online("r").await, vec![ada.clone()]);
        assert!(a.depart("r", "u1").await, "her last socket anywhere");
        assert!(a.online("r").await.is_empty());
    }
}
