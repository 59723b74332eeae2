//! A room's writer on this node: stores the room's changes in order (sends in batches, each
//! getting its `seq` and `rev` in the storing transaction), answers each after it committed,
//! and publishes what it committed on the bus.
//!
//! Several nodes may each run a writer for one room: the database orders their commits (the
//! room's row is the lock), and a feed that sees their entries interleave out of order replays
//! the gap from storage.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::{
    bus::{Entry, Event, Kind, RoomBus},
    convert::to_wire,
    registry::Registry,
};
use crate::{
    store::{Appended, Change, NewMessage, Pos, Reacted, Store, StoreError},
    wire::{BotEnd, ErrorBody, ErrorCode},
};

/// Largest number of sends stored in one transaction.
pub(super) const MAX_BATCH: usize = 256;

/// What a writer is asked to do.
pub(super) enum WriteCmd {
    Send {
        message: NewMessage,
        reply: oneshot::Sender<Result<Appended, ErrorBody>>,
    },
    /// An edit (`text`) or a delete (`None`) of the user's own message.
    Change {
        id: String,
        user: String,
        text: Option<String>,
        ts: i64,
        reply: oneshot::Sender<Result<Change, StoreError>>,
    },
    /// The user's reaction `emoji` added (`on`) or taken back.
    React {
        id: String,
        user: String,
        emoji: String,
        on: bool,
        ts: i64,
        reply: oneshot::Sender<Result<Reacted, StoreError>>,
    },
    /// A streamed reply's final text; `end` is its `bot:end` (its `rev` is set here).
    Finish {
        end: BotEnd,
        meta: String,
        reply: oneshot::Sender<Result<Change, StoreError>>,
    },
}

pub(super) struct Writer {
    pub(super) room: String,
    pub(super) store: Store,
    pub(super) bus: Arc<dyn RoomBus>,
    /// Where this task is registered, to take itself out when idle.
    pub(super) registry: Weak<Registry<WriteCmd>>,
}

type Reply = oneshot::Sender<Result<Appended, ErrorBody>>;

impl Writer {
    pub(super) async fn run(self, mut rx: mpsc::Receiver<WriteCmd>) {
        let mut pending: Option<WriteCmd> = None;
        loop {
            let cmd = match pending.take() {
                Some(cmd) => cmd,
                None => tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(cmd) => cmd,
                        None => break,
                    },
                    () = tokio::time::sleep(super::IDLE) => {
                        if self.registry.upgrade().is_none_or(|r| r.retire(&self.room, &rx)) {
                            break;
                        }
                        continue;
                    }
                },
            };
            match cmd {
                WriteCmd::Send { message, reply } => {
                    let mut batch = vec![(message, reply)];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(WriteCmd::Send { message, reply }) => batch.push((message, reply)),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.append(batch).await;
                }
                WriteCmd::Change {
                    id,
                    user,
                    text,
                    ts,
                    reply,
                } => {
                    let result = match &text {
                        Some(text) => self.store.edit(&self.room, &id, &user, text, ts).await,
                        None => self.store.delete(&self.room, &id, &user, ts).await,
                    };
                    if let Ok(change) = &result {
                        let kind = if text.is_some() {
                            Kind::Edited
                        } else {
                            Kind::Deleted
                        };
                        self.publish_change(change, kind);
                    }
                    reply.send(result).ok();
                }
                WriteCmd::React {
                    id,
                    user,
                    emoji,
                    on,
                    ts,
                    reply,
                } => {
                    let result = self
                        .store
                        .react(&self.room, &id, &user, &emoji, on, ts)
                        .await;
                    if let Ok(Reacted::Changed(change)) = &result {
                        self.publish_change(change, Kind::Reacted);
                    }
                    reply.send(result).ok();
                }
                WriteCmd::Finish {
                    mut end,
                    meta,
                    reply,
                } => {
                    let result = self
                        .store
                        .finish(&self.room, &end.id, &end.text, &meta)
                        .await;
                    match &result {
                        Ok(change) => {
                            end.rev = change.pos.rev;
                            self.publish_change(change, Kind::Ended(Arc::new(end)));
                        }
                        Err(e) => warn!(cause = %e, room = self.room, "cannot store a reply's end"),
                    }
                    reply.send(result).ok();
                }
            }
        }
        debug!(room = self.room, "room writer stopped");
    }

    fn publish_change(&self, change: &Change, kind: Kind) {
        let entry = Entry {
            pos: change.pos,
            kind,
            message: Arc::new(to_wire(&change.message)),
        };
        self.bus.publish(&self.room, Event::Logged(Arc::new(entry)));
    }

    async fn append(&self, batch: Vec<(NewMessage, Reply)>) {
        let messages: Vec<NewMessage> = batch.iter().map(|(m, _)| m.clone()).collect();
        match self.store.append(&self.room, &messages).await {
            Ok(results) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    if let Appended::New(stored) = &result {
                        ::metrics::counter!(crate::metrics::MESSAGES_STORED_TOTAL).increment(1);
                        let entry = Entry {
                            pos: Pos {
                                seq: stored.seq,
                                rev: stored.rev,
                            },
                            kind: Kind::New,
                            message: Arc::new(to_wire(stored)),
                        };
                        self.bus.publish(&self.room, Event::Logged(Arc::new(entry)));
                    }
                    reply.send(Ok(result)).ok();
                }
            }
            Err(e) => {
                warn!(cause = %e, room = self.room, "cannot store messages");
                for (_, reply) in batch {
                    reply
                        .send(Err(ErrorBody::new(
                            ErrorCode::Internal,
                            "the message could not be stored",
                        )))
                        .ok();
                }
            }
        }
    }
}
