//! The names of rooms in socketioxide's adapter.

/// The room name in socketioxide's adapter that a subscribed socket joins (for typing, presence,
/// edits and other broadcasts that carry no `seq`).
pub fn room_key(room: &str) -> String {
    format!("r:{room}")
}

/// The room every socket of a user joins.
pub fn user_room(user_id: &str) -> String {
    format!("u:{user_id}")
}
