//! Typing notices: forwarded to the room's other members, lapsing unless repeated.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// The latest notice per (room, user); a lapse timer only fires if no later notice came.
#[derive(Debug, Default)]
pub struct Typing {
    generation: AtomicU64,
    current: Mutex<HashMap<(String, String), u64>>,
}

impl Typing {
    /// Records that `user` typed in `room`; returns the notice's generation for [`Typing::lapse`].
    pub fn start(&self, room: &str, user: &str) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock()
            .insert((room.to_owned(), user.to_owned()), generation);
        generation
    }

    /// Records that `user` stopped; `true` if they were typing.
    pub fn stop(&self, room: &str, user: &str) -> bool {
        self.lock()
            .remove(&(room.to_owned(), user.to_owned()))
            .is_some()
    }

    /// Ends the notice of `generation` if no later one replaced it; `true` if it ended now.
    pub fn lapse(&self, room: &str, user: &str, generation: u64) -> bool {
        let mut current = self.lock();
        let key = (room.to_owned(), user.to_owned());
        if current.get(&key) == Some(&generation) {
            current.remove(&key);
            true
        } else {
            false
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u64>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_notice_survives_the_first_ones_lapse() {
        let t = Typing::default();
        let first = t.start("r", "u");
        let second = t.start("r", "u");
        assert!(!t.lapse("r", "u", first));
        assert!(t.lapse("r", "u", second));
        assert!(!t.stop("r", "u"));
    }
}
