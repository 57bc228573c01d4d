//! `Latencies`: every sample of a perf run, summarised the way Kafka's perf tools print them
//! (average, maximum, p50/p95/p99/p99.9). Shared by `perf produce`, `perf consume` and
//! `perf e2e` so the three report percentiles computed the same way.

use std::time::Duration;

/// Samples in microseconds. A sorted vector rather than a histogram: a perf run holds at most
/// tens of millions of samples (4 bytes each), and exact percentiles are easier to trust.
#[derive(Default)]
pub struct Latencies {
    micros: Vec<u32>,
    sum_micros: u64,
    max_micros: u32,
}

/// The figures of a finished run, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

impl Latencies {
    pub fn with_capacity(n: u64) -> Latencies {
        Latencies {
            // Cap the up-front reservation; a longer run grows the vector as it goes.
            micros: Vec::with_capacity(n.min(10_000_000) as usize),
            ..Latencies::default()
        }
    }

    pub fn record(&mut self, latency: Duration) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.micros.push(us);
        self.sum_micros += u64::from(us);
        self.max_micros = self.max_micros.max(us);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// Average so far, in milliseconds (for progress lines).
    pub fn avg_ms(&self) -> f64 {
        if self.micros.is_empty() {
            0.0
        } else {
            self.sum_micros as f64 / self.micros.len() as f64 / 1000.0
        }
    }

    /// Sorts the samples and computes the figures (nearest-rank percentiles, as Kafka's tools).
    pub fn summary(&mut self) -> Summary {
        self.micros.sort_unstable();
        let at = |p: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let i = ((self.micros.len() as f64 * p) as usize).min(self.micros.len() - 1);
            f64::from(self.micros[i]) / 1000.0
        };
        Summary {
            count: self.micros.len(),
            avg_ms: self.avg_ms(),
            max_ms: f64::from(self.max_micros) / 1000.0,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
        }
    }
}

impl Summary {
    /// The JSON fields every perf tool's `--json` line carries.
    pub fn json_fields(&self) -> String {
        format!(
            "\"avg_latency_ms\": {:.3}, \"max_latency_ms\": {:.3}, \"p50_ms\": {:.3}, \"p95_ms\": {:.3}, \"p99_ms\": {:.3}, \"p999_ms\": {:.3}",
            self.avg_ms, self.max_ms, self.p50_ms, self.p95_ms, self.p99_ms, self.p999_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_sorted_samples() {
        let mut l = Latencies::with_capacity(1000);
        // 1..=1000 ms, recorded out of order.
        for ms in (1..=1000u64).rev() {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max_ms, 1000.0);
        assert_eq!(s.p50_ms, 501.0);
        assert_eq!(s.p99_ms, 991.0);
        assert_eq!(s.p999_ms, 1000.0);
        assert!((s.avg_ms - 500.5).abs() < 1e-9);
    }

    #[test]
    fn empty_run_reports_zeros() {
        let s = Latencies::default().summary();
        assert_eq!(s.count, 0);
        assert_eq!(s.p99_ms, 0.0);
    }
}
