//! Latency histograms and the figures one run yields.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use hdrhistogram::Histogram;

/// A histogram of microseconds, 1 µs to 2 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// A histogram shared by the tasks of one run.
#[derive(Clone)]
pub struct SharedHist(Arc<Mutex<Histogram<u64>>>);

impl Default for SharedHist {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(histogram())))
    }
}

impl SharedHist {
    /// Records one latency in µs (clamped into range).
    pub fn record(&self, us: u64) {
        if let Ok(mut h) = self.0.lock() {
            h.saturating_record(us.max(1));
        }
    }

    /// Records many latencies at once.
    pub fn record_all(&self, values: &[u64]) {
        if let Ok(mut h) = self.0.lock() {
            for &v in values {
                h.saturating_record(v.max(1));
            }
        }
    }

    /// A copy of the histogram as it is.
    pub fn snapshot(&self) -> Histogram<u64> {
        self.0
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|_| histogram())
    }
}

/// The figures of one run of one scenario against one target, by name.
pub type Metrics = BTreeMap<String, f64>;

/// Adds `<prefix>_p50`, `_p99`, `_p999`, `_max` (in milliseconds) and `_n` to `m`.
pub fn add_latency(m: &mut Metrics, prefix: &str, h: &Histogram<u64>) {
    let ms = |us: u64| us as f64 / 1000.0;
    m.insert(format!("{prefix}_n"), h.len() as f64);
    if h.is_empty() {
        return;
    }
    m.insert(format!("{prefix}_p50"), ms(h.value_at_quantile(0.50)));
    m.insert(format!("{prefix}_p99"), ms(h.value_at_quantile(0.99)));
    m.insert(format!("{prefix}_p999"), ms(h.value_at_quantile(0.999)));
    m.insert(format!("{prefix}_max"), ms(h.max()));
}

/// Median, minimum and maximum of some values (`None` when empty).
pub fn median_min_max(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}
