//! The room's lease: before a node writes a reply in a room it takes the lease `bot:<room>`,
//! so that one reply at a time is written there across the cluster even when members on
//! different nodes ask at once. A request whose room another node writes in waits, told it is
//! next (`bot:queued` at position 1), and starts when that reply ends. The writing node renews
//! the lease while the reply runs and gives it back at its end; a node that dies keeps it at
//! most [`LEASE_TTL`], about when the other nodes end its reply as interrupted.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;

use super::{Bot, admission::Request};
use crate::ports::Leases;

/// How long a lease lasts unless renewed.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the writing node renews it.
const RENEW: Duration = Duration::from_secs(3);
/// How often a waiting request tries again.
const RETRY: Duration = Duration::from_millis(200);

/// A room's lease while this node writes a reply there: given back with [`Held::give_back`]
/// (so that the room's next request finds it free), or when dropped.
pub(super) struct Held {
    leases: Arc<dyn Leases>,
    name: String,
    holder: String,
    renew: JoinHandle<()>,
    given: bool,
}

impl Held {
    /// Gives the lease back now.
    pub(super) async fn give_back(mut self) {
        self.renew.abort();
        self.given = true;
        self.leases.give_back(&self.name, &self.holder).await;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renew.abort();
        if !self.given {
            let (leases, name) = (self.leases.clone(), std::mem::take(&mut self.name));
            let holder = std::mem::take(&mut self.holder);
            tokio::spawn(async move { leases.give_back(&name, &holder).await });
        }
    }
}

impl Bot {
    /// Waits until this node may write the reply to `request`: it holds the room's lease.
    /// `None` when the request was cancelled or the server began to stop meanwhile.
    pub(super) async fn hold_room(&self, request: &Request) -> Option<Held> {
        let leases = self.0.leases.clone();
        let name = format!("bot:{}", request.room);
        let holder = format!("{}/{}", self.0.config.node, request.request_id);
        let mut told = false;
        while !leases.take(&name, &holder, LEASE_TTL).await {
            if !told {
                told = true;
                let next = vec![(request.request_id.clone(), 1)];
                self.announce_queued(&request.room, next).await;
            }
            tokio::select! {
                () = request.cancel.cancelled() => return None,
                () = self.0.stopping.cancelled() => return None,
                () = tokio::time::sleep(RETRY) => {}
            }
        }
        let renew = {
            let (leases, name, holder) = (leases.clone(), name.clone(), holder.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RENEW).await;
                    if !leases.take(&name, &holder, LEASE_TTL).await {
                        tracing::warn!(lease = %name, "the room's lease went to another node while this one writes");
                    }
                }
            })
        };
        Some(Held {
            leases,
            name,
            holder,
            renew,
            given: false,
        })
    }
}
