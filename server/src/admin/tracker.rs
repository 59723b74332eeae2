//! What the Admin UI has been told about this node's sockets, so that what it was not told
//! (an upgrade, a socket gone without a word, the rooms of a socket that left) can be told,
//! and the counts of connections and disconnections per second for `server_stats`.
//!
//! One entry per connected socket (pruned against the namespace on every stats tick), and
//! counts for the seconds since the last tick: bounded by the sockets this node holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use socketioxide::socket::Sid;

use crate::wire::admin::AggregatedEvent;

/// A socket: its namespace and id.
pub type Key = (String, Sid);

/// What was told about one socket.
#[derive(Debug, Clone, Default, PartialEq)]
struct Told {
    transport: &'static str,
    rooms: BTreeSet<String>,
}

/// A socket as it is now, for [`Tracker::reconcile`].
#[derive(Debug, Clone)]
pub struct Now {
    /// Namespace and id.
    pub key: Key,
    /// Its transport now.
    pub transport: &'static str,
}

/// What the UI must be told after comparing with the sockets as they are.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Sockets whose transport changed (upgraded), with the new one.
    pub upgraded: Vec<(Key, &'static str)>,
    /// Sockets gone without a disconnect told, with the rooms they were in.
    pub vanished: Vec<(Key, Vec<String>)>,
}

/// The sockets told about and the events counted since the last stats.
#[derive(Debug, Default)]
pub struct Tracker {
    sockets: HashMap<Key, Told>,
    counts: BTreeMap<(i64, &'static str, Option<&'static str>), u64>,
}

impl Tracker {
    /// A socket came in, with its transport and rooms, at `now_ms`.
    pub fn connected(&mut self, key: Key, transport: &'static str, rooms: &[String], now_ms: i64) {
        self.count(now_ms, "rawConnection", None);
        let rooms = rooms.iter().cloned().collect();
        self.sockets.insert(key, Told { transport, rooms });
    }

    /// A socket joined a room; whether it is one the UI knows of (else nothing is told).
    pub fn joined(&mut self, key: &Key, room: &str) -> bool {
        self.sockets
            .get_mut(key)
            .is_some_and(|t| t.rooms.insert(room.to_owned()))
    }

    /// A socket left a room; whether it was in it as far as the UI knows.
    pub fn left(&mut self, key: &Key, room: &str) -> bool {
        self.sockets
            .get_mut(key)
            .is_some_and(|t| t.rooms.remove(room))
    }

    /// A socket went away: the rooms it was in (the UI is told it left them), or `None` when
    /// the UI never heard of it.
    pub fn disconnected(
        &mut self,
        key: &Key,
        reason: &'static str,
        now_ms: i64,
    ) -> Option<Vec<String>> {
        let told = self.sockets.remove(key)?;
        self.count(now_ms, "rawDisconnection", Some(reason));
        Some(told.rooms.into_iter().collect())
    }

    /// Compares with the sockets as they are: upgrades to tell, and sockets that went away
    /// unseen (forgotten here, to be told as disconnected).
    pub fn reconcile(&mut self, now: &[Now]) -> Changes {
        let mut changes = Changes::default();
        let mut present = std::collections::HashSet::with_capacity(now.len());
        for socket in now {
            present.insert(&socket.key);
            if let Some(told) = self.sockets.get_mut(&socket.key)
                && told.transport != socket.transport
            {
                told.transport = socket.transport;
                changes
                    .upgraded
                    .push((socket.key.clone(), socket.transport));
            }
        }
        let gone: Vec<Key> = self
            .sockets
            .keys()
            .filter(|k| !present.contains(k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(told) = self.sockets.remove(&key) {
                changes
                    .vanished
                    .push((key, told.rooms.into_iter().collect()));
            }
        }
        changes
    }

    /// A socket the UI is told of again after a resync (not counted as a connection).
    pub fn restore(&mut self, key: Key, transport: &'static str, rooms: &[String]) {
        let rooms = rooms.iter().cloned().collect();
        self.sockets.insert(key, Told { transport, rooms });
    }

    /// Forgets every socket (before telling the UI all of them again).
    pub fn clear_sockets(&mut self) {
        self.sockets.clear();
    }

    /// The counts per second since the last call, emptied.
    pub fn take_events(&mut self) -> Vec<AggregatedEvent> {
        std::mem::take(&mut self.counts)
            .into_iter()
            .map(|((timestamp, kind, sub_type), count)| AggregatedEvent {
                timestamp,
                kind,
                sub_type,
                count,
            })
            .collect()
    }

    fn count(&mut self, now_ms: i64, kind: &'static str, sub_type: Option<&'static str>) {
        let second = now_ms - now_ms.rem_euclid(1000);
        *self.counts.entry((second, kind, sub_type)).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        ("/".to_owned(), Sid::new())
    }

    #[test]
    fn rooms_followed_from_connect_to_disconnect() {
        let mut t = Tracker::default();
        let a = key();
        t.connected(a.clone(), "polling", &["u:ann".into()], 1_500);
        assert!(t.joined(&a, "r:general"));
        assert!(!t.joined(&a, "r:general"), "told once");
        assert!(t.left(&a, "r:general"));
        assert!(t.joined(&a, "r:random"));
        let rooms = t.disconnected(&a, "transport close", 2_100).expect("known");
        assert_eq!(rooms, vec!["r:random".to_owned(), "u:ann".to_owned()]);
        assert_eq!(t.disconnected(&a, "transport close", 2_200), None);
        assert!(!t.joined(&a, "r:x"), "a gone socket joins nothing");
        assert_eq!(
            t.take_events(),
            vec![
                AggregatedEvent {
                    timestamp: 1_000,
                    kind: "rawConnection",
                    sub_type: None,
                    count: 1
                },
                AggregatedEvent {
                    timestamp: 2_000,
                    kind: "rawDisconnection",
                    sub_type: Some("transport close"),
                    count: 1
                },
            ]
        );
        assert!(t.take_events().is_empty(), "counted once");
    }

    #[test]
    fn reconcile_tells_upgrades_once_and_sockets_gone_unseen() {
        let mut t = Tracker::default();
        let (a, b) = (key(), key());
        t.connected(a.clone(), "polling", &[], 0);
        t.connected(b.clone(), "polling", &["u:bo".into()], 0);
        let now = [Now {
            key: a.clone(),
            transport: "websocket",
        }];
        let changes = t.reconcile(&now);
        assert_eq!(changes.upgraded, vec![(a.clone(), "websocket")]);
        assert_eq!(changes.vanished, vec![(b, vec!["u:bo".to_owned()])]);
        assert_eq!(t.reconcile(&now), Changes::default());
    }
}
