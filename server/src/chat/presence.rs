//! This node's share of presence built again, after the shared presence may have lost it (a
//! restarted Redis keeps nothing; a node cut off too long was taken for dead by the others).

use std::{collections::HashSet, sync::Arc};

use socketioxide::{adapter::Adapter, extract::SocketRef};

use super::{Chat, Conn};
use crate::wire::{PresenceOut, User};

impl<A: Adapter> Chat<A> {
    /// Counts every room of every socket here again. `dropped` are the (room, user) pairs
    /// whose count the caller just removed with this node's share: they were announced
    /// online already, so only others that come back online are announced.
    pub async fn reassert_presence(&self, sockets: Vec<SocketRef<A>>, dropped: &[(String, User)]) {
        let dropped: HashSet<(&str, &str)> = dropped
            .iter()
            .map(|(room, user)| (room.as_str(), user.user_id.as_str()))
            .collect();
        let _order = self.presence_order.lock().await;
        for socket in sockets {
            let Some(conn) = socket.extensions.get::<Arc<Conn>>() else {
                continue;
            };
            let user = conn.user();
            for room in conn.room_list() {
                let first = self.presence.arrive(&room, &user).await;
                if first && !dropped.contains(&(room.as_str(), user.user_id.as_str())) {
                    let note = PresenceOut {
                        room: room.clone(),
                        user: user.clone(),
                        online: true,
                    };
                    self.writers.notice(&room, "presence", &note, None);
                }
            }
        }
    }
}
