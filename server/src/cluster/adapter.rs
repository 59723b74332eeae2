//! socketioxide-redis over the node's own [`Redis`] connection, so the adapter reconnects and
//! resubscribes with everything else (the crate's own driver holds a connection that does
//! neither).

use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

use super::redis::{Link, Redis};

/// The Socket.IO adapter of a cluster node.
pub type ClusterAdapter<E> = socketioxide_redis::CustomRedisAdapter<E, AdapterDriver>;

/// Buffered adapter messages per channel before more are dropped (with a warning).
const BUFFER_FLOOR: usize = 64;

/// The adapter's driver: publish and subscribe through [`Redis`].
#[derive(Debug, Clone)]
pub struct AdapterDriver(pub Redis);

/// Why an adapter's Redis call failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdapterDriverError(#[from] redis::RedisError);

impl Driver for AdapterDriver {
    type Error = AdapterDriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        Ok(self.0.publish_now(chan, val).await?)
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size.max(BUFFER_FLOOR));
        let name = chan.clone();
        self.0
            .subscribe(&chan, move |link| {
                if let Link::Message(payload) = link
                    && tx.try_send((name.clone(), payload)).is_err()
                {
                    tracing::warn!(
                        channel = name,
                        "redis: adapter channel full, message dropped"
                    );
                }
            })
            .await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        Ok(self.0.unsubscribe(&chan).await?)
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut conn = self.0.conn();
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }
}
