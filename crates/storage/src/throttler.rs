//! The log cleaner's I/O throttle, `log.cleaner.io.max.bytes.per.second`, as Kafka's
//! `kafka.utils.Throttler`: the cleaner reports every chunk it reads and every batch it
//! writes; once a check interval has passed, if the rate since the last check is above the
//! limit, it sleeps long enough to bring it back down. Unlimited (Kafka's default,
//! `Double.MaxValue`) makes it a no-op.
//!
//! One difference: Kafka checks only when the interval has passed, so a cleaning that reads
//! and writes everything within 300 ms is never held back (on this machine, about 100 MiB of
//! log). Here a check is also due as soon as the bytes since the last one exceed what the
//! limit allows in an interval, so no burst goes beyond that.
//!
//! It exists so that an operator can keep a large cleaning from taking the disk bandwidth
//! that produce and fetch need (DESIGN.md section 5); the CPU side of that is the cleaner
//! thread's lower priority (`weir_broker::cleaner_task`).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How often the rate is checked (Kafka's `checkIntervalMs`, 300 ms).
const CHECK_INTERVAL: Duration = Duration::from_millis(300);

/// Limits the bytes per second of one cleaner thread.
///
/// Interior mutability (`Cell`) lets the read loop and the write path of one cleaning both
/// report to it by shared reference; it is used by that one thread only (`!Sync`).
#[derive(Debug)]
pub struct Throttler {
    bytes_per_second: f64,
    period_start: Cell<Instant>,
    observed: Cell<u64>,
}

impl Throttler {
    /// A throttle at `bytes_per_second`; not finite or not positive means unlimited.
    pub fn new(bytes_per_second: f64) -> Self {
        Self {
            bytes_per_second,
            period_start: Cell::new(Instant::now()),
            observed: Cell::new(0),
        }
    }

    fn unlimited(&self) -> bool {
        !self.bytes_per_second.is_finite() || self.bytes_per_second <= 0.0
    }

    /// Accounts for `bytes` of I/O just done; sleeps if the rate over the current check
    /// interval is above the limit.
    pub fn maybe_throttle(&self, bytes: u64) {
        if self.unlimited() {
            return;
        }
        let observed = self.observed.get().saturating_add(bytes);
        let elapsed = self.period_start.get().elapsed();
        let allowance = self.bytes_per_second * CHECK_INTERVAL.as_secs_f64();
        if elapsed < CHECK_INTERVAL && (observed as f64) <= allowance {
            self.observed.set(observed);
            return;
        }
        let rate = observed as f64 / elapsed.as_secs_f64();
        if rate > self.bytes_per_second {
            // The time the observed bytes should have taken, minus the time they did.
            let wanted = Duration::from_secs_f64(observed as f64 / self.bytes_per_second);
            let sleep = wanted.saturating_sub(elapsed);
            tracing::trace!(?sleep, rate, "log cleaner throttled");
            std::thread::sleep(sleep);
        }
        self.period_start.set(Instant::now());
        self.observed.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_sleeps() {
        let t = Throttler::new(f64::MAX);
        let start = Instant::now();
        for _ in 0..1000 {
            t.maybe_throttle(1 << 30);
        }
        assert!(start.elapsed() < Duration::from_millis(100));
        assert!(Throttler::new(0.0).unlimited());
        assert!(Throttler::new(f64::INFINITY).unlimited());
    }

    /// How long 10 MB take through a 10 MB/s throttle, reported 1 MB at a time with
    /// `pause` after each.
    fn ten_megabytes_at_ten_per_second(pause: Duration) -> Duration {
        let t = Throttler::new(10e6);
        let start = Instant::now();
        for _ in 0..10 {
            t.maybe_throttle(1_000_000);
            std::thread::sleep(pause);
        }
        start.elapsed()
    }

    #[test]
    fn holds_back_a_burst_shorter_than_the_check_interval() {
        // All at once: a check is due as soon as more than 3 MB (300 ms' worth) have gone,
        // so the burst is held back to about a second instead of passing at once.
        let took = ten_megabytes_at_ten_per_second(Duration::ZERO);
        assert!(took >= Duration::from_millis(700), "took {took:?}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }

    #[test]
    fn holds_the_rate_near_the_limit() {
        // 1 MB every 40 ms would be 25 MB/s. The first check (at 4 MB, past the 3 MB
        // allowance) sleeps until those 4 MB have taken 0.4 s, and so on: about 1 s in all.
        let took = ten_megabytes_at_ten_per_second(Duration::from_millis(40));
        assert!(took >= Duration::from_millis(700), "took {took:?}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}
