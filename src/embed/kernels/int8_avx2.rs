//! int8 products for CPUs with AVX2 but no AVX-512: `vpmaddubsw` multiplies 32 byte pairs
//! per instruction, about twice the multiply-adds per cycle of f32 FMA.
//!
//! `vpmaddubsw` multiplies unsigned by signed bytes and adds adjacent pairs into saturating
//! 16-bit sums, so one operand must stay within 7 bits for the sums to be exact
//! (2 × 255 × 63 = 32,130 < 32,767). The scheme, and why:
//!
//! - **Weights**: 8 bits with one scale per output channel and block of 32 inputs
//!   (`q = round(w / s_cb)`, `|q| ≤ 127`, stored as `q + 128`, an unsigned byte). One
//!   scale per whole channel loses the reference cosine on the feed-forward
//!   down-projection (lowest 0.99702 against 0.99929 per block, `benches/int8_layers.py`);
//!   fewer bits lose it everywhere.
//! - **Inputs**: 7 bits (`|q| ≤ 63`) with one scale per block of 32 consecutive inputs of a
//!   row: a whole-row scale lets one large input flatten all the others (lowest cosine
//!   0.986 against 0.999 measured with `benches/int8_cosine.py`).
//! - **Smoothing** (SmoothQuant, Xiao et al. 2023, arXiv:2211.10438): input channel `j` is
//!   divided by `s_j` and the weights' column `j` multiplied by it before rounding, which
//!   moves range from the few large input channels into the weights; `s_j` comes from the
//!   caller (the encoder derives it from the preceding layer norm).
//!
//! The weights' `+128` is undone per block: `Σ (q_w + 128) q_x = Σ q_w q_x + 128 Σ q_x`,
//! and `Σ q_x` is known once the row is rounded. Everything is exact integer arithmetic up
//! to the per-block sums, which are scaled (input scale × weight scale) and accumulated in
//! f32.

use rayon::prelude::*;

/// Rows of an int8 register tile.
pub const ROWS: usize = 4;
/// Columns of an int8 panel (two registers of eight 32-bit sums), as the f32 panels.
pub const COLS: usize = super::F32_COLS;
/// Inputs sharing one scale.
pub const BLOCK: usize = 32;
/// The largest rounded input.
const INPUT_MAX: f32 = 63.0;
/// The largest rounded weight.
const WEIGHT_MAX: f32 = 127.0;
/// The offset that makes a rounded weight an unsigned byte.
const WEIGHT_OFFSET: i32 = 128;

/// A weight matrix rounded to 8 bits and packed in panels of 16 output columns; within a
/// panel, for every 4 inputs, 16 columns × 4 bytes (`[k/4][col][4]`): one 256-bit load per
/// 8 columns feeds `vpmaddubsw` with a broadcast of 4 input bytes.
#[derive(Debug)]
pub struct PackedWeights {
    data: Vec<u8>,
    /// The weight scales, per panel, block of 32 inputs and column (`[panel][block][16]`;
    /// zero in the padding columns).
    scales: Vec<f32>,
    /// Per input: `1 / s_j`, the smoothing applied to the inputs.
    inverse_smoothing: Vec<f32>,
    k: usize,
}

impl PackedWeights {
    /// Rounds `weight` (`n × k`, PyTorch's layout) with the inputs' smoothing `smoothing`
    /// (`k` positive factors). `k` must be a multiple of [`BLOCK`].
    pub fn new(weight: &[f32], n: usize, k: usize, smoothing: &[f32]) -> Self {
        assert!(
            k.is_multiple_of(BLOCK),
            "k = {k} is not a multiple of {BLOCK}"
        );
        assert_eq!(weight.len(), n * k, "weight is n × k");
        assert_eq!(smoothing.len(), k, "one smoothing factor per input");
        assert!(
            smoothing.iter().all(|s| s.is_finite() && *s > 0.0),
            "smoothing factors must be positive"
        );
        let panels = n.div_ceil(COLS);
        let blocks = k / BLOCK;
        let mut data = vec![WEIGHT_OFFSET as u8; panels * k * COLS];
        let mut scales = vec![0f32; panels * blocks * COLS];
        // Panel by panel in parallel: the CLI loads the model while it answers.
        data.par_chunks_mut(k * COLS)
            .zip(scales.par_chunks_mut(blocks * COLS))
            .zip(weight.par_chunks(k * COLS))
            .for_each(|((dst, panel_scales), rows)| pack_panel(rows, smoothing, dst, panel_scales));
        Self {
            data,
            scales,
            inverse_smoothing: smoothing.iter().map(|s| 1.0 / s).collect(),
            k,
        }
    }

    /// The packed bytes of output panel `panel` (`k × 16`).
    pub fn panel(&self, panel: usize) -> &[u8] {
        &self.data[panel * self.k * COLS..][..self.k * COLS]
    }

    /// The weight scales of output panel `panel` (`k / 32 × 16`).
    pub fn panel_scales(&self, panel: usize) -> &[f32] {
        let blocks = self.k / BLOCK;
        &self.scales[panel * blocks * COLS..][..blocks * COLS]
    }
}

/// Rounds and packs one panel: `rows` holds up to [`COLS`] weight rows of `k` inputs; `dst`
/// gets their bytes (`[k/4][COLS][4]`) and `panel_scales` their scales (`[k/32][COLS]`).
fn pack_panel(rows: &[f32], smoothing: &[f32], dst: &mut [u8], panel_scales: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features were just detected.
            return unsafe { pack_panel_avx2(rows, smoothing, dst, panel_scales) };
        }
    }
    pack_panel_body(rows, smoothing, dst, panel_scales)
}

/// [`pack_panel_body`] with AVX2: the same bytes and scales, bit for bit (`vcvtps2dq` rounds
/// ties to even, as `round_ties_even` does), several times sooner than the plain loop, whose
/// rounding is a call to libm's `rintf` per weight. The CLI packs the model on every start.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_panel_avx2(
    rows: &[f32],
    smoothing: &[f32],
    dst: &mut [u8],
    panel_scales: &mut [f32],
) {
    use std::arch::x86_64::{
        _mm256_andnot_ps, _mm256_cvtps_epi32, _mm256_loadu_ps, _mm256_max_epi32, _mm256_max_ps,
        _mm256_min_epi32, _mm256_mul_ps, _mm256_packs_epi16, _mm256_packs_epi32,
        _mm256_permutevar8x32_epi32, _mm256_set1_epi8, _mm256_set1_epi32, _mm256_set1_ps,
        _mm256_setr_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    };
    let k = smoothing.len();
    assert!(rows.len() <= COLS * k && dst.len() == COLS * k);
    assert_eq!(panel_scales.len(), k / BLOCK * COLS);
    let sign = _mm256_set1_ps(-0.0);
    let (low, high) = (_mm256_set1_epi32(-127), _mm256_set1_epi32(127));
    // q + 128 as a byte is q's two's-complement byte with the top bit flipped.
    let flip = _mm256_set1_epi8(i8::MIN);
    // packs interleaves the two 128-bit lanes; this puts the 32 bytes back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (c, row) in rows.chunks_exact(k).enumerate() {
        for block in 0..k / BLOCK {
            let at = block * BLOCK;
            // SAFETY: `at + 32 ≤ k`, the length of `row` and `smoothing`.
            let w: [_; 4] = std::array::from_fn(|i| unsafe {
                _mm256_mul_ps(
                    _mm256_loadu_ps(row.as_ptr().add(at + 8 * i)),
                    _mm256_loadu_ps(smoothing.as_ptr().add(at + 8 * i)),
                )
            });
            let largest = w.iter().fold(_mm256_set1_ps(0.0), |m, v| {
                _mm256_max_ps(m, _mm256_andnot_ps(sign, *v))
            });
            // SAFETY: a 256-bit vector is 8 f32 lanes.
            let lanes: [f32; 8] = unsafe { std::mem::transmute(largest) };
            let scale = lanes.iter().fold(0f32, |m, v| m.max(*v)) / WEIGHT_MAX;
            panel_scales[block * COLS + c] = scale;
            let inverse = _mm256_set1_ps(if scale > 0.0 { 1.0 / scale } else { 0.0 });
            let q: [_; 4] = std::array::from_fn(|i| {
                let q = _mm256_cvtps_epi32(_mm256_mul_ps(w[i], inverse));
                _mm256_min_epi32(_mm256_max_epi32(q, low), high)
            });
            let bytes = _mm256_xor_si256(
                _mm256_permutevar8x32_epi32(
                    _mm256_packs_epi16(
                        _mm256_packs_epi32(q[0], q[1]),
                        _mm256_packs_epi32(q[2], q[3]),
                    ),
                    order,
                ),
                flip,
            );
            let mut words = [0u32; 8];
            // SAFETY: 32 bytes into a 32-byte array.
            unsafe { _mm256_storeu_si256(words.as_mut_ptr().cast(), bytes) };
            // Inputs 4g..4g+4 of column c lie at `[(at/4 + g)][c][..4]`.
            for (g, word) in words.iter().enumerate() {
                let to = (at / 4 + g) * COLS * 4 + c * 4;
                dst[to..to + 4].copy_from_slice(&word.to_ne_bytes());
            }
        }
    }
}

/// See [`pack_panel`].
#[inline(always)]
fn pack_panel_body(rows: &[f32], smoothing: &[f32], dst: &mut [u8], panel_scales: &mut [f32]) {
    let k = smoothing.len();
    let mut smoothed = vec![0f32; k];
    for (c, row) in rows.chunks_exact(k).enumerate() {
        for ((s, w), f) in smoothed.iter_mut().zip(row).zip(smoothing) {
            *s = w * f;
        }
        for (block, values) in smoothed.chunks_exact(BLOCK).enumerate() {
            let largest = values.iter().fold(0f32, |m, w| m.max(w.abs()));
            let scale = largest / WEIGHT_MAX;
            panel_scales[block * COLS + c] = scale;
            let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            for (i, w) in values.iter().enumerate() {
                let input = block * BLOCK + i;
                let q = (w * inverse)
                    .round_ties_even()
                    .clamp(-WEIGHT_MAX, WEIGHT_MAX) as i32;
                dst[(input / 4) * COLS * 4 + c * 4 + input % 4] = (q + WEIGHT_OFFSET) as u8;
            }
        }
    }
}

/// Rows of inputs rounded for one product: 7-bit values, one scale per block of 32, and
/// each block's offset correction. Kept between calls.
#[derive(Debug, Default)]
pub struct QuantizedRows {
    values: Vec<i8>,
    scales: Vec<f32>,
    /// Per row and block: `128 · Σ q`, subtracted from every column's block sum.
    offsets: Vec<i32>,
    k: usize,
}

impl QuantizedRows {
    /// Rounds the `m` rows of `input` (each `weights.k` wide) for `weights`, padding to
    /// whole tiles with zero rows.
    pub fn fill(&mut self, input: &[f32], m: usize, weights: &PackedWeights) {
        let k = weights.k;
        let rows = m.div_ceil(ROWS) * ROWS;
        let blocks = k / BLOCK;
        self.k = k;
        self.values.clear();
        self.values.resize(rows * k, 0);
        self.scales.clear();
        self.scales.resize(rows * blocks, 0.0);
        self.offsets.clear();
        self.offsets.resize(rows * blocks, 0);
        let smoothing = weights.inverse_smoothing.as_slice();
        input[..m * k]
            .par_chunks(k)
            .zip(self.values.par_chunks_mut(k))
            .zip(self.scales.par_chunks_mut(blocks))
            .zip(self.offsets.par_chunks_mut(blocks))
            .with_min_len(16)
            .for_each(|(((row, values), scales), offsets)| {
                round_row(row, smoothing, values, scales, offsets);
            });
    }

    /// Appends to `out` what rounding left of row `row` (whose inputs are `input`, rounded
    /// by the last [`QuantizedRows::fill`] for `weights`), in the input's units:
    /// `r_j = x_j − s_j · q_j · scale_b` for input `j` in block `b` (`s_j` the smoothing).
    /// Rounding `r` again and adding its product to the row's gives the product of inputs
    /// rounded to about 14 bits (two-step residual quantisation: the second step rounds
    /// the first one's error at 1/126 of its scale or finer).
    pub fn append_residual(
        &self,
        row: usize,
        input: &[f32],
        weights: &PackedWeights,
        out: &mut Vec<f32>,
    ) {
        let (k, blocks) = (self.k, self.k / BLOCK);
        assert!(input.len() == k && weights.k == k, "a row of {k} inputs");
        let values = &self.values[row * k..][..k];
        let scales = &self.scales[row * blocks..][..blocks];
        out.extend(
            input
                .chunks_exact(BLOCK)
                .zip(values.chunks_exact(BLOCK))
                .zip(weights.inverse_smoothing.chunks_exact(BLOCK))
                .zip(scales)
                .flat_map(|(((x, q), f), scale)| {
                    x.iter()
                        .zip(q)
                        .zip(f)
                        .map(move |((x, q), f)| x - f32::from(*q) * scale / f)
                }),
        );
    }

    /// The rounded rows from `row` on (`ROWS` of them exist past any row a tile starts at).
    fn tile_at(&self, row: usize) -> (&[i8], &[f32], &[i32]) {
        let blocks = self.k / BLOCK;
        (
            &self.values[row * self.k..][..ROWS * self.k],
            &self.scales[row * blocks..][..ROWS * blocks],
            &self.offsets[row * blocks..][..ROWS * blocks],
        )
    }
}

/// Rounds one row: divides by the smoothing (given as `1 / s_j`), then rounds each block
/// of 32 to 7 bits with its own scale, and writes each block's offset correction.
fn round_row(
    row: &[f32],
    inverse_smoothing: &[f32],
    values: &mut [i8],
    scales: &mut [f32],
    offsets: &mut [i32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            assert!(
                row.len() == inverse_smoothing.len()
                    && row.len() == values.len()
                    && row.len() == scales.len() * BLOCK
                    && offsets.len() == scales.len()
            );
            // SAFETY: the features were just detected, and the lengths agree (asserted).
            return unsafe {
                round_row_avx2(
                    row.as_ptr(),
                    inverse_smoothing.as_ptr(),
                    values.as_mut_ptr(),
                    scales,
                    offsets,
                )
            };
        }
    }
    round_row_body(row, inverse_smoothing, values, scales, offsets)
}

/// [`round_row_body`] with AVX2: the same values, bit for bit (`vcvtps2dq` rounds ties to
/// even, as `round_ties_even` does).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn round_row_avx2(
    row: *const f32,
    inverse_smoothing: *const f32,
    values: *mut i8,
    scales: &mut [f32],
    offsets: &mut [i32],
) {
    use std::arch::x86_64::{
        _mm_add_epi32, _mm_cvtsi128_si32, _mm_hadd_epi32, _mm256_add_epi32, _mm256_andnot_ps,
        _mm256_castsi256_si128, _mm256_cvtps_epi32, _mm256_extracti128_si256, _mm256_loadu_ps,
        _mm256_max_ps, _mm256_mul_ps, _mm256_packs_epi16, _mm256_packs_epi32,
        _mm256_permutevar8x32_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_storeu_si256,
    };
    let sign = _mm256_set1_ps(-0.0);
    // packs interleaves the two 128-bit lanes; this puts the 32 bytes back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    // SAFETY: the caller guarantees `scales.len()` blocks of 32 behind every pointer.
    unsafe {
        for (b, (scale, offset)) in scales.iter_mut().zip(offsets.iter_mut()).enumerate() {
            let at = b * BLOCK;
            let x: [_; 4] = std::array::from_fn(|i| {
                _mm256_mul_ps(
                    _mm256_loadu_ps(row.add(at + 8 * i)),
                    _mm256_loadu_ps(inverse_smoothing.add(at + 8 * i)),
                )
            });
            let largest = x.iter().fold(_mm256_set1_ps(0.0), |m, v| {
                _mm256_max_ps(m, _mm256_andnot_ps(sign, *v))
            });
            let lanes: [f32; 8] = std::mem::transmute(largest);
            let largest = lanes.iter().fold(0f32, |m, v| m.max(*v));
            *scale = largest / INPUT_MAX;
            let inverse = _mm256_set1_ps(if largest > 0.0 {
                INPUT_MAX / largest
            } else {
                0.0
            });
            let q: [_; 4] =
                std::array::from_fn(|i| _mm256_cvtps_epi32(_mm256_mul_ps(x[i], inverse)));
            let total =
                _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            let half = _mm_add_epi32(
                _mm256_castsi256_si128(total),
                _mm256_extracti128_si256::<1>(total),
            );
            let half = _mm_hadd_epi32(half, half);
            let sum = _mm_cvtsi128_si32(_mm_hadd_epi32(half, half));
            let bytes = _mm256_packs_epi16(
                _mm256_packs_epi32(q[0], q[1]),
                _mm256_packs_epi32(q[2], q[3]),
            );
            _mm256_storeu_si256(
                values.add(at).cast(),
                _mm256_permutevar8x32_epi32(bytes, order),
            );
            *offset = WEIGHT_OFFSET * sum;
        }
    }
}

/// Rounds one row in plain Rust (see [`round_row`]).
fn round_row_body(
    row: &[f32],
    inverse_smoothing: &[f32],
    values: &mut [i8],
    scales: &mut [f32],
    offsets: &mut [i32],
) {
    let mut smoothed = [0f32; BLOCK];
    for ((((x, f), dst), scale), offset) in row
        .chunks_exact(BLOCK)
        .zip(inverse_smoothing.chunks_exact(BLOCK))
        .zip(values.chunks_exact_mut(BLOCK))
        .zip(scales.iter_mut())
        .zip(offsets.iter_mut())
    {
        let mut largest = 0f32;
        for ((s, x), f) in smoothed.iter_mut().zip(x).zip(f) {
            *s = x * f;
            largest = largest.max(s.abs());
        }
        *scale = largest / INPUT_MAX;
        let inverse = if largest > 0.0 {
            INPUT_MAX / largest
        } else {
            0.0
        };
        let mut sum = 0i32;
        for (d, s) in dst.iter_mut().zip(&smoothed) {
            // Ties to even, as PyTorch rounds; |s · inverse| ≤ 63 by construction.
            let q = (s * inverse).round_ties_even() as i32;
            *d = q as i8;
            sum += q;
        }
        *offset = WEIGHT_OFFSET * sum;
    }
}

/// `out[r][c] = Σ_blocks x_{r,b} · w_{c,b} · (Σ_{i∈b} q_x · (q_w + 128) − 128 · Σ_{i∈b} q_x)`
/// for the 4 × 16 tile of rounded rows from `row` and output panel `panel` (`x_{r,b}` the
/// inputs' block scale, `w_{c,b}` the weights'): the product of the smoothed, rounded
/// inputs and weights, before the bias.
pub fn tile(
    rows: &QuantizedRows,
    row: usize,
    weights: &PackedWeights,
    panel: usize,
    out: &mut [[f32; COLS]; ROWS],
) {
    let (values, scales, offsets) = rows.tile_at(row);
    let b = weights.panel(panel);
    let weight_scales = weights.panel_scales(panel);
    let k = rows.k;
    let operands = Operands {
        values: values.as_ptr(),
        scales: scales.as_ptr(),
        offsets: offsets.as_ptr(),
        k,
        weights: b.as_ptr(),
        weight_scales: weight_scales.as_ptr(),
    };
    #[cfg(target_arch = "x86_64")]
    {
        if super::int8_vnni::available() {
            // SAFETY: the features were just detected; the operands hold 4 rows of k bytes,
            // 4 rows of k / 32 scales and offsets, k × 16 weight bytes and k / 32 × 16
            // weight scales (checked by the slicing above).
            unsafe { super::int8_vnni::tile(&operands, out) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            unsafe { tile_avx2(&operands, out) };
            return;
        }
    }
    tile_generic(values, scales, offsets, k, b, weight_scales, out);
}

/// Where a tile's operands lie: 4 rounded rows of `k` bytes with their `k / 32` block
/// scales and offsets each, a panel of `k × 16` weight bytes and its `k / 32 × 16` weight
/// scales.
pub struct Operands {
    /// The rounded inputs, row after row.
    pub values: *const i8,
    /// The inputs' block scales, row after row.
    pub scales: *const f32,
    /// The blocks' offset corrections (`128 · Σ q`), row after row.
    pub offsets: *const i32,
    /// Inputs per row.
    pub k: usize,
    /// The weight panel.
    pub weights: *const u8,
    /// The weight panel's scales, block after block.
    pub weight_scales: *const f32,
}

/// The tile in plain Rust: the same integer sums and the same rounding steps, the reference
/// for the SIMD ones.
fn tile_generic(
    values: &[i8],
    scales: &[f32],
    offsets: &[i32],
    k: usize,
    b: &[u8],
    weight_scales: &[f32],
    out: &mut [[f32; COLS]; ROWS],
) {
    let blocks = k / BLOCK;
    for (r, out_row) in out.iter_mut().enumerate() {
        let mut acc = [0f32; COLS];
        for block in 0..blocks {
            let mut sums = [0i32; COLS];
            for i in block * BLOCK..(block + 1) * BLOCK {
                let x = i32::from(values[r * k + i]);
                for (c, sum) in sums.iter_mut().enumerate() {
                    *sum += x * i32::from(b[(i / 4) * COLS * 4 + c * 4 + i % 4]);
                }
            }
            let scale = scales[r * blocks + block];
            let offset = offsets[r * blocks + block];
            let columns = &weight_scales[block * COLS..][..COLS];
            for ((a, s), w) in acc.iter_mut().zip(sums).zip(columns) {
                *a = ((s - offset) as f32).mul_add(w * scale, *a);
            }
        }
        *out_row = acc;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(operands: &Operands, out: &mut [[f32; COLS]; ROWS]) {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_mul_ps,
        _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_setzero_si256, _mm256_storeu_ps, _mm256_sub_epi32,
    };
    let &Operands {
        values,
        scales,
        offsets,
        k,
        weights: b,
        weight_scales,
    } = operands;
    let blocks = k / BLOCK;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    // SAFETY: offsets stay within the extents the caller guarantees (see `Operands`).
    unsafe {
        for block in 0..blocks {
            let mut sums = [[_mm256_setzero_si256(); 2]; ROWS];
            for step in 0..BLOCK / 4 {
                let i = block * BLOCK + step * 4;
                let w0 = _mm256_loadu_si256(b.add(i * COLS).cast::<__m256i>());
                let w1 = _mm256_loadu_si256(b.add(i * COLS + 32).cast::<__m256i>());
                for (r, sums) in sums.iter_mut().enumerate() {
                    let x = _mm256_set1_epi32(values.add(r * k + i).cast::<i32>().read_unaligned());
                    // Unsigned weight bytes × signed input bytes, pairs summed in 16 bits
                    // (exact: see the module's bound), then pairs of those in 32 bits.
                    let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(w0, x), ones);
                    let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(w1, x), ones);
                    sums[0] = _mm256_add_epi32(sums[0], p0);
                    sums[1] = _mm256_add_epi32(sums[1], p1);
                }
            }
            let columns = weight_scales.add(block * COLS);
            let (c0, c1) = (_mm256_loadu_ps(columns), _mm256_loadu_ps(columns.add(8)));
            for (r, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                let scale = _mm256_set1_ps(*scales.add(r * blocks + block));
                let offset = _mm256_set1_epi32(*offsets.add(r * blocks + block));
                let s0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(sums[0], offset));
                let s1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(sums[1], offset));
                acc[0] = _mm256_fmadd_ps(s0, _mm256_mul_ps(c0, scale), acc[0]);
                acc[1] = _mm256_fmadd_ps(s1, _mm256_mul_ps(c1, scale), acc[1]);
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            _mm256_storeu_ps(row.as_mut_ptr(), acc[0]);
            _mm256_storeu_ps(row.as_mut_ptr().add(8), acc[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::values;
    use super::*;
    use crate::embed::precision::Kernel;

    /// The product from the rounded values in f64, straight from the scheme's definition,
    /// and the most rounding can move it from the exact product (each rounded value is
    /// within half a step of the smoothed one).
    fn rounded_reference(input: &[f32], weight: &[f32], smoothing: &[f32], k: usize) -> (f64, f64) {
        let x: Vec<f32> = input.iter().zip(smoothing).map(|(x, s)| x / s).collect();
        let w: Vec<f32> = weight.iter().zip(smoothing).map(|(w, s)| w * s).collect();
        let (mut sum, mut bound) = (0f64, 0f64);
        for b in 0..k / BLOCK {
            let xb = &x[b * BLOCK..][..BLOCK];
            let xs = xb.iter().fold(0f32, |m, v| m.max(v.abs())) / INPUT_MAX;
            let wb = &w[b * BLOCK..][..BLOCK];
            let ws = wb.iter().fold(0f32, |m, v| m.max(v.abs())) / WEIGHT_MAX;
            for (i, xv) in xb.iter().enumerate() {
                let qx = if xs > 0.0 {
                    (xv / xs).round_ties_even()
                } else {
                    0.0
                };
                let qw = (w[b * BLOCK + i] / ws).round_ties_even();
                sum += f64::from(qx) * f64::from(xs) * f64::from(qw) * f64::from(ws);
                let (half_x, half_w) = (f64::from(xs) / 2.0, f64::from(ws) / 2.0);
                bound += f64::from(xv.abs()) * half_w
                    + f64::from(w[b * BLOCK + i].abs()) * half_x
                    + half_x * half_w;
            }
        }
        (sum, bound)
    }

    #[test]
    fn the_tile_computes_the_rounded_product_and_stays_close_to_the_exact_one() {
        let (m, n, k) = (7, 40, 96);
        let input = values(m * k, 11);
        let weight = values(n * k, 12);
        let smoothing: Vec<f32> = values(k, 13).iter().map(|v| 0.5 + v.abs()).collect();
        let packed = PackedWeights::new(&weight, n, k, &smoothing);
        let mut rows = QuantizedRows::default();
        rows.fill(&input, m, &packed);
        for row in (0..m).step_by(ROWS) {
            for panel in 0..n.div_ceil(COLS) {
                let mut out = [[f32::NAN; COLS]; ROWS];
                tile(&rows, row, &packed, panel, &mut out);
                let mut generic = [[f32::NAN; COLS]; ROWS];
                let (v, s, o) = rows.tile_at(row);
                let (b, w) = (packed.panel(panel), packed.panel_scales(panel));
                tile_generic(v, s, o, k, b, w, &mut generic);
                for r in 0..ROWS.min(m - row) {
                    for c in 0..COLS.min(n - panel * COLS) {
                        let col = panel * COLS + c;
                        let x = &input[(row + r) * k..][..k];
                        let w = &weight[col * k..][..k];
                        let (want, bound) = rounded_reference(x, w, &smoothing, k);
                        let exact: f64 = x.iter().zip(w).map(|(a, b)| f64::from(a * b)).sum();
                        let got = f64::from(out[r][c]);
                        assert!((got - want).abs() < 1e-4, "{r},{col}: {got} vs {want}");
                        assert_eq!(out[r][c].to_bits(), generic[r][c].to_bits());
                        assert!(
                            (got - exact).abs() <= bound + 1e-4,
                            "{r},{col}: {got} vs {exact}, bound {bound}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_avx2_rounding_equals_the_plain_one_bit_for_bit() {
        if !Kernel::Int8Avx2.available() {
            return;
        }
        let k = 4 * BLOCK;
        let mut row = values(k, 21);
        row[5] = 0.5; // a tie after scaling is still possible elsewhere; zeros too:
        row[BLOCK..2 * BLOCK].fill(0.0);
        let smoothing: Vec<f32> = values(k, 22)
            .iter()
            .map(|v| 1.0 / (0.5 + v.abs()))
            .collect();
        let rounded = || (vec![0i8; k], vec![0f32; 4], vec![0i32; 4]);
        let (mut plain, mut wide) = (rounded(), rounded());
        round_row_body(&row, &smoothing, &mut plain.0, &mut plain.1, &mut plain.2);
        round_row(&row, &smoothing, &mut wide.0, &mut wide.1, &mut wide.2);
        assert_eq!(plain, wide);
        assert!(plain.2.iter().any(|offset| *offset != 0));
        assert!(plain.0.iter().any(|q| *q == 63 || *q == -63));
    }

    #[test]
    fn the_avx2_packing_equals_the_plain_one_bit_for_bit() {
        if !Kernel::Int8Avx2.available() {
            return;
        }
        // 13 rows: a panel's padding columns stay untouched by both.
        let (n, k) = (13, 6 * BLOCK);
        let mut weight = values(n * k, 61);
        weight[2 * k + BLOCK..2 * k + 2 * BLOCK].fill(0.0);
        weight[7] = 1e3; // one outlier: its block rounds everything else towards zero
        let smoothing: Vec<f32> = values(k, 62).iter().map(|v| 0.25 + v.abs()).collect();
        let packed = || {
            (
                vec![WEIGHT_OFFSET as u8; COLS * k],
                vec![0f32; k / BLOCK * COLS],
            )
        };
        let (mut plain, mut wide) = (packed(), packed());
        pack_panel_body(&weight, &smoothing, &mut plain.0, &mut plain.1);
        pack_panel(&weight, &smoothing, &mut wide.0, &mut wide.1);
        assert!(plain.0 == wide.0, "bytes differ");
        assert_eq!(plain.1, wide.1);
        assert!(
            plain.0.iter().any(|b| *b == 1 || *b == 255),
            "some weight is ±127"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vnni_tile_equals_the_avx2_tile_bit_for_bit() {
        if !super::super::int8_vnni::available() {
            return;
        }
        let (m, n, k) = (4, 16, 12 * BLOCK);
        let input = values(m * k, 51);
        let weight = values(n * k, 52);
        let smoothing: Vec<f32> = values(k, 53).iter().map(|v| 0.5 + v.abs()).collect();
        let packed = PackedWeights::new(&weight, n, k, &smoothing);
        let mut rows = QuantizedRows::default();
        rows.fill(&input, m, &packed);
        let (v, s, o) = rows.tile_at(0);
        let operands = Operands {
            values: v.as_ptr(),
            scales: s.as_ptr(),
            offsets: o.as_ptr(),
            k,
            weights: packed.panel(0).as_ptr(),
            weight_scales: packed.panel_scales(0).as_ptr(),
        };
        let (mut avx2, mut vnni) = ([[f32::NAN; COLS]; ROWS], [[f32::NAN; COLS]; ROWS]);
        // SAFETY: AVX-512 VNNI implies AVX2 and FMA; the extents are a whole tile's.
        unsafe {
            tile_avx2(&operands, &mut avx2);
            super::super::int8_vnni::tile(&operands, &mut vnni);
        }
        assert!(avx2.iter().flatten().all(|x| x.is_finite() && *x != 0.0));
        assert_eq!(
            avx2.map(|r| r.map(f32::to_bits)),
            vnni.map(|r| r.map(f32::to_bits))
        );
    }

    #[test]
    fn a_residual_is_what_rounding_left_of_the_row() {
        let (m, n, k) = (5, 16, 64);
        let input = values(m * k, 81);
        let smoothing: Vec<f32> = values(k, 82).iter().map(|v| 1.5 + v).collect();
        let weights = PackedWeights::new(&values(n * k, 83), n, k, &smoothing);
        let mut rows = QuantizedRows::default();
        rows.fill(&input, m, &weights);
        let mut residual = Vec::new();
        rows.append_residual(3, &input[3 * k..][..k], &weights, &mut residual);
        assert_eq!(residual.len(), k);
        let blocks = k / BLOCK;
        for (j, r) in residual.iter().enumerate() {
            let scale = rows.scales[3 * blocks + j / BLOCK];
            let rounded = f32::from(rows.values[3 * k + j]) * scale * smoothing[j];
            // The row is its rounding plus the residual, and the residual is at most half a
            // rounding step (in the input's units).
            assert!((rounded + r - input[3 * k + j]).abs() <= 1e-6, "input {j}");
            assert!(
                r.abs() <= 0.5 * scale * smoothing[j] * (1.0 + 1e-5),
                "input {j}: {r}"
            );
        }
        assert!(residual.iter().any(|r| *r != 0.0));
    }

    #[test]
    fn zero_rows_and_weights_give_zero_not_nan() {
        let k = BLOCK;
        let packed = PackedWeights::new(&vec![0.0; 3 * k], 3, k, &vec![1.0; k]);
        let mut rows = QuantizedRows::default();
        rows.fill(&vec![0.0; k], 1, &packed);
        let mut out = [[f32::NAN; COLS]; ROWS];
        tile(&rows, 0, &packed, 0, &mut out);
        assert!(out.iter().flatten().all(|v| *v == 0.0), "{out:?}");
    }
}
