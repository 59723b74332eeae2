//! A room's task: its loop, its batching writer, and its retirement when idle.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use serde::Serialize;
use socketioxide::socket::Sid;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::{
    convert::to_wire,
    feed::{Streaming, Sub},
    hub::{Cmd, Hub, IDLE, MAX_BATCH, TICK},
};
use crate::{
    flow::Frame,
    store::{Appended, NewMessage, Store},
    wire::{ErrorBody, ErrorCode, Message},
};

pub(super) struct RoomTask {
    pub(super) room: String,
    pub(super) store: Store,
    pub(super) json: bool,
    pub(super) last_seq: i64,
    pub(super) subs: HashMap<Sid, Sub>,
    pub(super) ring: VecDeque<Arc<Message>>,
    pub(super) streaming: Option<Streaming>,
    /// Where this task is registered, to take itself out when idle.
    pub(super) hubs: std::sync::Weak<Mutex<HashMap<String, Hub>>>,
}

impl RoomTask {
    /// `data`, serialized now if the parser allows it (see [`Frame`]).
    pub(super) fn frame<'a, T: Serialize + ?Sized>(&self, data: &'a T) -> Frame<'a, T> {
        Frame::new(data, self.json)
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pending: Option<Cmd> = None;
        loop {
            let cmd = match pending.take() {
                Some(cmd) => cmd,
                None => {
                    let lagging = self.subs.values().any(|s| s.lagging);
                    let idle = self.subs.is_empty() && self.streaming.is_none();
                    tokio::select! {
                        cmd = rx.recv() => match cmd {
                            Some(cmd) => cmd,
                            None => break,
                        },
                        _ = tick.tick(), if lagging => {
                            self.catch_up_all().await;
                            continue;
                        }
                        _ = tokio::time::sleep(IDLE), if idle => {
                            if self.retire(&rx) {
                                break;
                            }
                            continue;
                        }
                    }
                }
            };
            match cmd {
                Cmd::Send { message, reply } => {
                    let mut batch = vec![(message, reply)];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(Cmd::Send { message, reply }) => batch.push((message, reply)),
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.store_and_deliver(batch).await;
                }
                Cmd::Subscribe {
                    socket,
                    flow,
                    since,
                    reply,
                } => {
                    let sid = socket.id;
                    self.subscribe(socket, flow, since);
                    reply.send(self.last_seq).ok();
                    self.catch_up(sid).await;
                }
                Cmd::Unsubscribe { sid } => {
                    self.subs.remove(&sid);
                }
                Cmd::Replace { message } => self.replace(message),
                Cmd::StreamStart { start } => self.stream_start(start),
                Cmd::StreamDelta { id, text } => self.stream_delta(&id, text),
                Cmd::StreamEnd { end, message } => {
                    self.replace(message);
                    self.stream_end(end);
                }
            }
        }
        debug!(room = self.room, "room task stopped");
    }

    /// Takes this idle room out of the registry if no handle to it is held anywhere else and
    /// no command waits: nobody can then reach it, and it may stop. `true` if it did.
    pub(super) fn retire(&self, rx: &mpsc::Receiver<Cmd>) -> bool {
        let Some(hubs) = self.hubs.upgrade() else {
            return true;
        };
        let mut hubs = hubs.lock().unwrap_or_else(|e| e.into_inner());
        let alone = hubs
            .get(&self.room)
            .is_some_and(|hub| hub.tx.strong_count() == 1);
        if alone && rx.is_empty() {
            hubs.remove(&self.room);
            true
        } else {
            false
        }
    }

    pub(super) async fn store_and_deliver(
        &mut self,
        batch: Vec<(NewMessage, oneshot::Sender<Result<Appended, ErrorBody>>)>,
    ) {
        let messages: Vec<NewMessage> = batch.iter().map(|(m, _)| m.clone()).collect();
        match self.store.append(&self.room, &messages).await {
            Ok(results) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    if let Appended::New(stored) = &result {
                        self.publish(Arc::new(to_wire(stored)));
                    }
                    reply.send(Ok(result)).ok();
                }
            }
            Err(e) => {
                warn!(cause = %e, room = self.room, "cannot store messages");
                // The seq in storage may have moved if another process wrote: reload it.
                if let Ok(Some(room)) = self.store.room(&self.room).await {
                    self.last_seq = self.last_seq.max(room.last_seq);
                }
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
