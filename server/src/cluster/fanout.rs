//! Requests every node hears, over Redis: [`crate::ports::Fanout`] on one channel of JSON
//! messages, each node skipping its own. Used for stop requests (`<prefix>:stops`: a node
//! whose client cancels a reply another node writes) and the Admin UI's census
//! (`<prefix>:census`). A request lost in an outage is one that came too late: a reply that
//! runs to its end (its client got the ack and may cancel again), an admin's list short of one
//! node's older sockets until its next login.

use std::{fmt, marker::PhantomData, sync::Arc};

use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::broadcast;
use tracing::warn;

use super::redis::{Link, Redis};
use crate::ports::fanout::{CAPACITY, Fanout, Origin};

/// The requests of type `T` of a cluster node.
pub struct RedisFanout<T> {
    tx: broadcast::Sender<Arc<T>>,
    redis: Redis,
    channel: String,
    _of: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for RedisFanout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFanout")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl<T> RedisFanout<T>
where
    T: Origin + DeserializeOwned + Send + Sync + 'static,
{
    /// `node`'s requests on the channel `<prefix>:<name>`.
    pub async fn start(
        redis: Redis,
        prefix: &str,
        name: &str,
        node: &str,
    ) -> redis::RedisResult<Self> {
        let tx = broadcast::channel(CAPACITY).0;
        let channel = format!("{prefix}:{name}");
        let (me, into, what) = (node.to_owned(), tx.clone(), channel.clone());
        redis
            .subscribe(&channel, move |link| match link {
                Link::Message(payload) => match serde_json::from_slice::<T>(&payload) {
                    Ok(request) if request.node() == me => {}
                    Ok(request) => {
                        into.send(Arc::new(request)).ok();
                    }
                    Err(e) => warn!(channel = %what, cause = %e, "a request that does not decode"),
                },
                // Nothing to recover: a lost request is one that came too late.
                Link::Back => {}
            })
            .await?;
        Ok(Self {
            tx,
            redis,
            channel,
            _of: PhantomData,
        })
    }
}

impl<T> Fanout<T> for RedisFanout<T>
where
    T: Serialize + Send + Sync + 'static,
{
    fn publish(&self, request: T) {
        match serde_json::to_vec(&request) {
            Ok(payload) => self.redis.publish(&self.channel, payload),
            Err(e) => warn!(channel = %self.channel, cause = %e, "a request that does not encode"),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<T>> {
        self.tx.subscribe()
    }
}
