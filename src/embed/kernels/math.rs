//! The encoder's element-wise f32 arithmetic, written so that the compiler vectorises it
//! (no branches in the loops, lane-wise partial sums): exp, erf, GELU, layer norm, softmax.

/// Lanes of the partial sums in reductions: one AVX register of f32.
const LANES: usize = 8;

/// Defines `pub fn $name` running `$body` compiled for AVX-512F or for AVX2 + FMA where the
/// CPU has them (the crate itself is compiled for the baseline x86-64, whose vectors are 4
/// lanes). The results are the same on every version: Rust never reorders or fuses f32
/// arithmetic, so only the vector width differs.
macro_rules! multiversion {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) => $body:ident) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn widest($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn wide($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features were just detected.
                    unsafe { widest($($arg),*) };
                    return;
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features were just detected.
                    unsafe { wide($($arg),*) };
                    return;
                }
            }
            $body($($arg),*)
        }
    };
}

multiversion! {
    /// GELU with the exact (erf) form, in place: `x · (1 + erf(x / √2)) / 2`.
    pub fn gelu_erf(values: &mut [f32]) => gelu_erf_body
}

multiversion! {
    /// GELU with the tanh approximation, in place.
    pub fn gelu_tanh(values: &mut [f32]) => gelu_tanh_body
}

multiversion! {
    /// Layer norm of one row in place: `(x − mean) / √(var + eps) · gamma + beta`.
    pub fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) => layer_norm_body
}

multiversion! {
    /// A residual connection's add and the layer norm after it, in one pass over the row:
    /// `row = layer_norm(row + addend)`.
    pub fn add_layer_norm(row: &mut [f32], addend: &[f32], gamma: &[f32], beta: &[f32], eps: f32) => add_layer_norm_body
}

multiversion! {
    /// Softmax of one row in place.
    pub fn softmax(row: &mut [f32]) => softmax_body
}

/// e^x to about 2 ulp for x in [-87, 88] (clamped outside: 0 and +∞ are not needed here).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n · LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer, branch-free.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    // t's low mantissa bits hold n = round(x / ln 2) in two's complement.
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // e^r on [-ln2/2, ln2/2]: Taylor to r^6, relative error under 2e-7.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n from n's bits: (n + 127) << 23; the constant's own bits shift out.
    let scale = f32::from_bits(t.to_bits().wrapping_add(127) << 23);
    p * scale
}

/// erf(x), absolute error under 3e-7 in f32: Eigen's (and XLA's) rational approximation for f32,
/// `x · α(x²) / β(x²)` with x clamped to ±4 (where erf is ±1 in f32), α of degree 6 and β of
/// degree 4 in x² (Eigen, `generic_fast_erf_float`). One division and no exponential (fewer
/// operations than Abramowitz & Stegun 7.1.26's); plain multiply and add rather than
/// `mul_add`, which is a slow library call on x86-64 CPUs without FMA.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600_1e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329_2e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut alpha = ALPHA[0];
    for a in &ALPHA[1..] {
        alpha = alpha * x2 + a;
    }
    let mut beta = BETA[0];
    for b in &BETA[1..] {
        beta = beta * x2 + b;
    }
    (x * alpha / beta).clamp(-1.0, 1.0)
}

#[inline(always)]
fn gelu_erf_body(values: &mut [f32]) {
    for x in values.iter_mut() {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[inline(always)]
fn gelu_tanh_body(values: &mut [f32]) {
    const C: f32 = 0.797_884_6; // √(2/π)
    for x in values.iter_mut() {
        let u = C * (*x + 0.044_715 * *x * *x * *x);
        // tanh(u) = 1 − 2 / (e^{2u} + 1)
        let tanh = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
        *x = 0.5 * *x * (1.0 + tanh);
    }
}

/// ReLU in place.
pub fn relu(values: &mut [f32]) {
    for x in values.iter_mut() {
        *x = x.max(0.0);
    }
}

/// The sum of `values`, in lane-wise partial sums (which the compiler vectorises).
#[inline(always)]
pub fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn layer_norm_body(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let mut lanes = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest: f32 = chunks
        .remainder()
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum();
    for chunk in chunks {
        for (l, x) in lanes.iter_mut().zip(chunk) {
            *l += (x - mean) * (x - mean);
        }
    }
    let variance = (lanes.iter().sum::<f32>() + rest) / n;
    let inverse = 1.0 / (variance + eps).sqrt();
    for ((x, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *x = (*x - mean) * inverse * g + b;
    }
}

#[inline(always)]
fn add_layer_norm_body(row: &mut [f32], addend: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    for (x, a) in row.iter_mut().zip(addend) {
        *x += a;
    }
    layer_norm_body(row, gamma, beta, eps);
}

#[inline(always)]
fn softmax_body(row: &mut [f32]) {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for chunk in chunks {
        for (l, x) in lanes.iter_mut().zip(chunk) {
            *l = l.max(*x);
        }
    }
    let max = lanes.iter().copied().fold(rest, f32::max);
    for x in row.iter_mut() {
        *x = exp(*x - max);
    }
    let inverse = 1.0 / sum(row);
    for x in row.iter_mut() {
        *x *= inverse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 by its Taylor series (exact to ~1e-9 on |x| ≤ 4).
    fn erf_reference(x: f64) -> f64 {
        let mut term = x;
        let mut total = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_is_within_a_few_ulp_over_the_range_used() {
        let mut worst = 0f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let got = f64::from(exp(x));
            let want = f64::from(x).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
    }

    #[test]
    fn erf_and_gelu_match_the_series() {
        let mut worst = 0f64;
        for i in -400..=400 {
            let x = i as f32 / 100.0;
            worst = worst.max((f64::from(erf(x)) - erf_reference(f64::from(x))).abs());
        }
        assert!(worst < 5e-7, "erf off by {worst}");
        // Past the clamp erf is flat, within 2e-7 of ±1 and never beyond.
        for x in [4.0f32, 10.0, 1e30, f32::INFINITY] {
            assert!(
                (1.0 - erf(x)) < 2e-7 && erf(x) <= 1.0,
                "erf({x}) = {}",
                erf(x)
            );
            assert_eq!(erf(-x), -erf(x));
        }
        let mut values = [-3.0f32, -1.0, 0.0, 0.5, 2.0];
        gelu_erf(&mut values);
        for (x, got) in [-3.0f64, -1.0, 0.0, 0.5, 2.0].iter().zip(values) {
            let want = 0.5 * x * (1.0 + erf_reference(x / std::f64::consts::SQRT_2));
            assert!(
                (f64::from(got) - want).abs() < 1e-6,
                "gelu({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn the_fused_residual_norm_is_the_add_then_the_norm() {
        let row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let addend: Vec<f32> = (0..37).map(|i| (i as f32 * 1.3).cos()).collect();
        let gamma: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 / 50.0).collect();
        let beta: Vec<f32> = (0..37).map(|i| i as f32 / 100.0 - 0.2).collect();
        let mut fused = row.clone();
        add_layer_norm(&mut fused, &addend, &gamma, &beta, 1e-12);
        let mut apart: Vec<f32> = row.iter().zip(&addend).map(|(x, a)| x + a).collect();
        layer_norm(&mut apart, &gamma, &beta, 1e-12);
        assert_eq!(fused, apart);
        let spread = fused.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(
            spread > 0.5,
            "the rows were normalised, not zeroed: {fused:?}"
        );
    }

    #[test]
    fn layer_norm_and_softmax_by_hand() {
        let mut row: Vec<f32> = (0..19).map(|i| i as f32).collect();
        layer_norm(&mut row, &[2.0; 19], &[1.0; 19], 0.0);
        // Mean 9, variance 30: (x − 9)/√30 · 2 + 1.
        for (i, y) in row.iter().enumerate() {
            let want = (i as f64 - 9.0) / 30f64.sqrt() * 2.0 + 1.0;
            assert!((f64::from(*y) - want).abs() < 1e-5, "{i}: {y} vs {want}");
        }
        let mut row = [1.0f32, 2.0, 3.0, -1e9];
        softmax(&mut row);
        let z = 1f64.exp() + 2f64.exp() + 3f64.exp();
        for (got, x) in row.iter().zip([1.0f64, 2.0, 3.0]) {
            assert!((f64::from(*got) - x.exp() / z).abs() < 1e-6);
        }
        assert!(row[3] < 1e-30, "a −1e9 score weighs nothing: {}", row[3]);
    }
}
