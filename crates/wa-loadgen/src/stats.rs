//! Latency samples and their percentiles (exact: a sorted vector of microseconds).

use serde::Serialize;

/// Latency samples in microseconds. Recording is a push; percentiles sort once.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    micros: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    /// Room for `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            micros: Vec::with_capacity(n),
            sorted: true,
        }
    }

    /// Records one sample (saturating at about 71 minutes).
    pub fn record(&mut self, d: std::time::Duration) {
        self.micros
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
        self.sorted = false;
    }

    /// Records one sample given in microseconds.
    pub fn record_micros(&mut self, us: u64) {
        self.micros.push(u32::try_from(us).unwrap_or(u32::MAX));
        self.sorted = false;
    }

    /// Takes every sample of `other`.
    pub fn merge(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
        self.sorted = false;
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `q`-quantile (0.0..=1.0) in microseconds by the nearest-rank method; 0 when empty.
    pub fn quantile(&mut self, q: f64) -> u64 {
        if self.micros.is_empty() {
            return 0;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let n = self.micros.len();
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil() as usize;
        u64::from(self.micros[rank.clamp(1, n) - 1])
    }

    /// The summary reported for a run.
    pub fn summary(&mut self) -> LatencySummary {
        let mean = if self.micros.is_empty() {
            0.0
        } else {
            self.micros.iter().map(|&u| f64::from(u)).sum::<f64>() / self.micros.len() as f64
        };
        LatencySummary {
            samples: self.len() as u64,
            mean_us: mean.round() as u64,
            p50_us: self.quantile(0.50),
            p90_us: self.quantile(0.90),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            max_us: self.quantile(1.0),
        }
    }
}

/// Percentiles of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub samples: u64,
    /// Arithmetic mean.
    pub mean_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

/// Formats microseconds as milliseconds with two decimals.
pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut l = Latencies::default();
        for us in (1..=1000).rev() {
            l.record_micros(us);
        }
        assert_eq!(l.quantile(0.5), 500);
        assert_eq!(l.quantile(0.99), 990);
        assert_eq!(l.quantile(0.999), 999);
        assert_eq!(l.quantile(1.0), 1000);
        assert_eq!(l.quantile(0.0), 1);
        let s = l.summary();
        assert_eq!(s.samples, 1000);
        assert_eq!(s.mean_us, 501); // 500.5 rounds up
        assert_eq!(s.p90_us, 900);
    }

    #[test]
    fn merge_and_empty() {
        let mut a = Latencies::default();
        assert_eq!(a.quantile(0.99), 0);
        assert_eq!(a.summary(), LatencySummary::default());
        a.record(std::time::Duration::from_millis(3));
        let mut b = Latencies::with_capacity(2);
        b.record_micros(1);
        b.record_micros(2);
        a.merge(b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.quantile(1.0), 3000);
        assert_eq!(a.quantile(0.34), 2);
        assert_eq!(ms(1234), "1.23");
    }
}
