//! Means and 95% confidence intervals across repeats (Student's t).

/// The mean of a sample and the half-width of its 95% confidence interval
/// (`None` with fewer than two values).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// Values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Half-width of the 95% interval of the mean.
    pub ci95: Option<f64>,
}

/// The estimate of `values` (at least one).
pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ci95 = (n >= 2).then(|| {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        t975(n - 1) * (var / n as f64).sqrt()
    });
    Some(Estimate { n, mean, ci95 })
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (df >= 1).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        // Beyond the table, the normal quantile with the first correction term.
        _ => 1.959_964 + 2.37 / df as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_a_known_sample() {
        let e = estimate(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(e.mean, 2.5);
        // s = 1.291, s / sqrt(4) = 0.6455, t(3) = 3.182.
        assert!((e.ci95.unwrap() - 2.054).abs() < 1e-3, "{e:?}");
        assert_eq!(estimate(&[5.0]).unwrap().ci95, None);
        assert_eq!(estimate(&[]), None);
        assert!((t975(1000) - 1.962).abs() < 1e-2);
    }
}
