//! `DELETE /api/v1/users/{user}/sessions`: every socket of a user, on every node, is
//! disconnected by the server (the client is told so and does not reconnect by itself).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiState,
    error::{ApiError, ErrorResponse},
    existing_user,
    extract::Path,
};

/// The answer to ending a user's sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Disconnected {
    /// Sockets the user had on all nodes together when the call was made, now disconnected.
    pub disconnected: usize,
}

/// Disconnects every socket of the user on every node. Each client receives a server
/// disconnect (socket.io-client's reason `io server disconnect`), so it does not reconnect on
/// its own; this is not a ban: the user may connect again.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user}/sessions",
    tag = "users",
    params(("user" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Disconnected", body = Disconnected),
        (status = 400, description = "Bad path", body = ErrorResponse),
        (status = 401, description = "Missing or wrong key", body = ErrorResponse),
        (status = 404, description = "No such user", body = ErrorResponse),
        (status = 429, description = "Over the key's rate", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn end_sessions(
    State(state): State<ApiState>,
    Path(user): Path<String>,
) -> Result<axum::Json<Disconnected>, ApiError> {
    existing_user(&state, &user).await?;
    let disconnected = state.node.disconnect_user(&user).await?;
    Ok(axum::Json(Disconnected { disconnected }))
}
