//! Reading a room's messages back in pages, as the socket `history` event and the HTTP API's
//! history route both do (same bounds, same order, same shape).

use socketioxide::adapter::Adapter;

use super::{Chat, store_error};
use crate::{
    room::to_wire,
    wire::{ErrorBody, ErrorCode, History},
};

/// Messages a page holds when the caller does not say.
pub const DEFAULT_PAGE: i64 = 50;
/// Most messages one page may hold.
pub const MAX_PAGE: i64 = 100;

/// The page size asked for, or the default; `bad_request` outside 1 to [`MAX_PAGE`].
pub fn page_limit(limit: Option<i64>) -> Result<i64, ErrorBody> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ErrorBody::new(
            ErrorCode::BadRequest,
            format!("limit must be 1 to {MAX_PAGE}"),
        ))
    }
}

impl<A: Adapter> Chat<A> {
    /// Up to `limit` messages of `room` between the exclusive `seq` bounds, in `seq` order
    /// (the newest ones unless `after` is given). The caller has checked who may read.
    pub async fn history(
        &self,
        room: &str,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<History, ErrorBody> {
        let rows = self
            .store
            .history(room, before, after, limit)
            .await
            .map_err(store_error)?;
        Ok(History {
            messages: rows.iter().map(to_wire).collect(),
        })
    }
}
