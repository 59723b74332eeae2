//! Who is online in each room, counted per user across all of a user's sockets.
//!
//! Kept behind this small type so it can later live in Redis for several server processes.

use std::{collections::HashMap, sync::Mutex};

use crate::wire::User;

/// A room's online users: user id → (display name, sockets there).
type RoomUsers = HashMap<String, (String, usize)>;

/// Online users per room, with how many sockets each has there.
#[derive(Debug, Default)]
pub struct Presence {
    rooms: Mutex<HashMap<String, RoomUsers>>,
}

impl Presence {
    /// Counts one more socket of `user` in `room`; `true` if it is the user's first there.
    pub fn arrive(&self, room: &str, user: &User) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let entry = rooms
            .entry(room.to_owned())
            .or_default()
            .entry(user.user_id.clone())
            .or_insert_with(|| (user.name.clone(), 0));
        entry.1 += 1;
        entry.1 == 1
    }

    /// Counts one socket fewer; `true` if it was the user's last there.
    pub fn depart(&self, room: &str, user_id: &str) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let Some(users) = rooms.get_mut(room) else {
            return false;
        };
        let last = match users.get_mut(user_id) {
            Some(entry) if entry.1 > 1 => {
                entry.1 -= 1;
                false
            }
            Some(_) => {
                users.remove(user_id);
                true
            }
            None => false,
        };
        if users.is_empty() {
            rooms.remove(room);
        }
        last
    }

    /// The users online in `room`, sorted by name.
    pub fn online(&self, room: &str) -> Vec<User> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let mut users: Vec<User> = rooms
            .get(room)
            .map(|users| {
                users
                    .iter()
                    .map(|(id, (name, _))| User {
                        user_id: id.clone(),
                        name: name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        users.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_socket_arrives_and_only_the_last_departs() {
        let p = Presence::default();
        let ada = User {
            user_id: "u1".into(),
            name: "Ada".into(),
        };
        assert!(p.arrive("r", &ada));
        assert!(!p.arrive("r", &ada));
        assert_eq!(p.online("r"), vec![ada.clone()]);
        assert!(!p.depart("r", "u1"));
        assert!(p.depart("r", "u1"));
        assert!(p.online("r").is_empty());
        assert!(!p.depart("r", "u1"));
    }
}
