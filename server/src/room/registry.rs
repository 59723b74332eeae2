//! The running tasks of one kind (writers or feeds), one per room, each reached through its
//! command channel. A task takes itself out when it has been idle and nobody else holds its
//! channel; the next use starts a fresh one.

use std::{collections::HashMap, sync::Mutex};

use tokio::sync::mpsc;

/// Rooms' command channels.
pub(super) struct Registry<C> {
    map: Mutex<HashMap<String, mpsc::Sender<C>>>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<C> Registry<C> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<C>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The channel of `room`'s task, if it runs.
    pub(super) fn get(&self, room: &str) -> Option<mpsc::Sender<C>> {
        self.lock().get(room).cloned()
    }

    /// The channel of `room`'s task, started with `start` if none runs.
    pub(super) fn get_or_start(
        &self,
        room: &str,
        start: impl FnOnce(mpsc::Receiver<C>),
    ) -> mpsc::Sender<C> {
        let mut map = self.lock();
        if let Some(tx) = map.get(room) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(super::COMMANDS);
        start(rx);
        map.insert(room.to_owned(), tx.clone());
        tx
    }

    /// How many tasks run.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Takes `room`'s idle task out if no handle to it is held anywhere else and no command
    /// waits: nobody can then reach it, and it may stop. `true` if it did.
    pub(super) fn retire(&self, room: &str, rx: &mpsc::Receiver<C>) -> bool {
        let mut map = self.lock();
        let Some(tx) = map.get(room) else {
            return true;
        };
        if tx.strong_count() == 1 && rx.is_empty() {
            map.remove(room);
            true
        } else {
            false
        }
    }
}
