//! What may wait for one socket: a byte budget on the packets the server queues for it, and the
//! rule that disconnects a socket that stays over it (Redis's client-output-buffer-limit, for a
//! socket.io server).
//!
//! socketioxide queues a socket's packets and writes them as the client reads; it tells only
//! whether the queue is full by count (`max_buffer_size`), not how many bytes wait or when they
//! left. So the budget is a token bucket of bytes: every packet the server queues for the socket
//! (answers, messages, replays, bot events) takes its size; the bucket holds `limit` bytes and
//! refills the whole limit over [`REFILL`]. A packet that does not fit is refused like a full
//! queue: an answer waits, a live message is held back and replayed from storage later.
//!
//! A socket under pressure (packets refused, by the budget or by a full queue) continuously for
//! longer than the slow-client timeout is disconnected: its transport is closed, so the client
//! reconnects and recovers by `seq`. Pressure ends when a packet goes out while the bucket is at
//! least half full. A client that never reads therefore holds at most about
//! `limit × (1 + timeout / REFILL)` bytes of our packets before it is cut.

use std::time::Duration;

use tokio::time::Instant;

/// Time for an empty bucket to fill up again.
pub const REFILL: Duration = Duration::from_secs(5);

/// Limits of one socket's output.
#[derive(Debug, Clone, Copy)]
pub struct OutputLimits {
    /// Bytes the bucket holds.
    pub limit: usize,
    /// How long a socket may stay under pressure before it is disconnected.
    pub slow_timeout: Duration,
}

/// What the budget says about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Queue it.
    Go,
    /// Not now: hold it back or retry later.
    Wait,
    /// The socket stayed over its budget too long: disconnect it.
    Cut,
}

/// One socket's byte bucket and pressure clock.
#[derive(Debug)]
pub struct Budget {
    limits: OutputLimits,
    tokens: f64,
    refilled: Instant,
    pressure_since: Option<Instant>,
}

impl Budget {
    /// A full bucket.
    pub fn new(limits: OutputLimits) -> Self {
        Self {
            limits,
            tokens: limits.limit as f64,
            refilled: Instant::now(),
            pressure_since: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        let capacity = self.limits.limit as f64;
        self.tokens = (self.tokens + capacity * elapsed / REFILL.as_secs_f64()).min(capacity);
        self.refilled = now;
    }

    /// Takes `bytes` from the bucket if they fit (a packet larger than the whole limit goes out
    /// when the bucket is full, so nothing is refused for ever).
    pub fn take(&mut self, bytes: usize) -> Verdict {
        let now = Instant::now();
        self.refill(now);
        let capacity = self.limits.limit as f64;
        let size = bytes as f64;
        if size <= self.tokens || self.tokens >= capacity {
            self.tokens -= size;
            if self.tokens >= capacity / 2.0 {
                self.pressure_since = None;
            }
            return Verdict::Go;
        }
        self.refused_at(now)
    }

    /// Gives back what [`Budget::take`] took for a packet the queue then refused (full), and
    /// counts the refusal.
    pub fn refused(&mut self, bytes: usize) -> Verdict {
        self.tokens = (self.tokens + bytes as f64).min(self.limits.limit as f64);
        self.refused_at(Instant::now())
    }

    fn refused_at(&mut self, now: Instant) -> Verdict {
        let since = *self.pressure_since.get_or_insert(now);
        if now.saturating_duration_since(since) > self.limits.slow_timeout {
            Verdict::Cut
        } else {
            Verdict::Wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: usize, timeout_ms: u64) -> Budget {
        Budget::new(OutputLimits {
            limit,
            slow_timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_refuses_past_the_limit_and_refills_over_time() {
        let mut b = budget(1000, 10_000);
        assert_eq!(b.take(600), Verdict::Go);
        assert_eq!(b.take(600), Verdict::Wait, "only 400 left");
        tokio::time::advance(REFILL / 2).await; // +500
        assert_eq!(b.take(600), Verdict::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn a_packet_larger_than_the_limit_goes_out_from_a_full_bucket() {
        let mut b = budget(1000, 10_000);
        assert_eq!(b.take(5000), Verdict::Go);
        assert_eq!(b.take(1), Verdict::Wait);
        tokio::time::advance(REFILL * 6).await;
        assert_eq!(b.take(5000), Verdict::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_that_stays_under_pressure_is_cut_after_the_timeout() {
        let mut b = budget(1000, 10_000);
        assert_eq!(b.take(1000), Verdict::Go);
        assert_eq!(b.take(1000), Verdict::Wait);
        // It drains a little at a time, never enough to relieve the pressure.
        for _ in 0..9 {
            tokio::time::advance(Duration::from_millis(1000)).await;
            assert_eq!(b.take(200), Verdict::Go);
            assert_eq!(b.take(1000), Verdict::Wait);
        }
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(b.take(1000), Verdict::Cut);
    }

    #[tokio::test(start_paused = true)]
    async fn pressure_ends_once_a_packet_leaves_a_half_full_bucket() {
        let mut b = budget(1000, 10_000);
        assert_eq!(b.take(1000), Verdict::Go);
        assert_eq!(b.refused(10), Verdict::Wait);
        tokio::time::advance(REFILL).await;
        assert_eq!(b.take(10), Verdict::Go, "relieved");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(
            b.refused(10),
            Verdict::Wait,
            "a new episode starts its own clock"
        );
    }
}
