//! The names of rooms in socketioxide's adapter.

/// The adapter room every socket of a user joins, to find a user's sockets on this node.
pub fn user_room(user_id: &str) -> String {
    format!("u:{user_id}")
}

/// The adapter room of the sockets a chat room is delivered to (the ones subscribed to it), so
/// that plain events addressed to the room (the HTTP API's `emit`, the Redis emitter) reach
/// them through the adapter, on every node. Chat traffic itself never goes this way: it goes
/// through the room's feed.
pub fn chat_room(room: &str) -> String {
    format!("r:{room}")
}
