//! Stopping a reply that another node writes. A `cancel` reaches the node of the socket that
//! sent it; when that node does not run the reply, the room's stream (which every node follows
//! for its late joiners) tells whether one by that id is being written elsewhere, and a
//! [`StopRequest`] asks the nodes to stop it: the one running it cancels it as its own, and the
//! others find nothing to do. A request waiting in another node's queue is not reached this way.

use std::sync::{Arc, Weak};

use tokio::sync::broadcast::error::RecvError;
use tracing::debug;

use super::{Bot, BotInner};
use crate::ports::StopRequest;

/// Whether a reply named `id` (its message id or its request's) streams in `room` on another
/// node; if so, that node is asked to stop it.
pub(super) fn stop_elsewhere(bot: &Bot, room: &str, id: &str) -> bool {
    let streaming = bot.0.writers.streaming(room);
    let elsewhere = streaming.is_some_and(|s| s.start.id == id || s.start.request_id == id);
    if elsewhere {
        bot.0.stops.publish(StopRequest {
            node: bot.0.config.node.clone(),
            room: room.to_owned(),
            id: id.to_owned(),
        });
    }
    elsewhere
}

/// Hands other nodes' stop requests to `bot` for as long as it lives.
pub(super) fn follow(bot: &Bot) {
    let mut requests = bot.0.stops.subscribe();
    let weak: Weak<BotInner> = Arc::downgrade(&bot.0);
    let node = bot.0.config.node.clone();
    tokio::spawn(async move {
        loop {
            let stop = match requests.recv().await {
                Ok(stop) => stop,
                Err(RecvError::Lagged(n)) => {
                    debug!(missed = n, "bot: stop requests missed");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let Some(inner) = weak.upgrade() else { return };
            if stop.node != node {
                let found = Bot(inner).cancel_here(&stop.room, &stop.id).await;
                debug!(room = %stop.room, id = %stop.id, found, "bot: stop request from another node");
            }
        }
    });
}
