//! Stop requests over Redis: a node whose client cancels a reply another node writes publishes
//! the request on `<prefix>:stops`; every other node hears it and the one running the reply
//! stops it. A request lost in an outage leaves the reply running to its end, as if the cancel
//! had come a moment too late; the client that asked got its ack and may ask again.

use std::sync::Arc;

use tokio::sync::broadcast;
use tracing::warn;

use super::redis::{Link, Redis};
use crate::ports::{StopRequest, Stops, stops::CAPACITY};

/// Stop requests of a cluster node.
#[derive(Debug)]
pub struct RedisStops {
    tx: broadcast::Sender<Arc<StopRequest>>,
    redis: Redis,
    channel: String,
}

impl RedisStops {
    /// `node`'s stop requests on the cluster `prefix`.
    pub async fn start(redis: Redis, prefix: &str, node: &str) -> redis::RedisResult<Self> {
        let tx = broadcast::channel(CAPACITY).0;
        let channel = format!("{prefix}:stops");
        let (me, into) = (node.to_owned(), tx.clone());
        redis
            .subscribe(&channel, move |link| match link {
                Link::Message(payload) => match serde_json::from_slice::<StopRequest>(&payload) {
                    Ok(stop) if stop.node == me => {}
                    Ok(stop) => {
                        into.send(Arc::new(stop)).ok();
                    }
                    Err(e) => warn!(cause = %e, "stops: a message that does not decode"),
                },
                // Nothing to recover: a stop that was lost is a cancel that came too late.
                Link::Back => {}
            })
            .await?;
        Ok(Self { tx, redis, channel })
    }
}

impl Stops for RedisStops {
    fn publish(&self, stop: StopRequest) {
        match serde_json::to_vec(&stop) {
            Ok(payload) => self.redis.publish(&self.channel, payload),
            Err(e) => warn!(cause = %e, "stops: a request that does not encode"),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<StopRequest>> {
        self.tx.subscribe()
    }
}
