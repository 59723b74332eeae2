//! The names of rooms in socketioxide's adapter.

/// The adapter room every socket of a user joins, to find a user's sockets on this node.
pub fn user_room(user_id: &str) -> String {
    format!("u:{user_id}")
}
