//! The encoder's matrix products: weights packed once at load time into the panel layout of
//! the chosen kernel, products split over threads by output panels and row blocks.
//!
//! `out = input · weightᵀ + bias`, with `input` `m × k` row-major f32 and `weight` in
//! PyTorch's `n × k` layout. Every kernel accumulates in f32; the bf16 one rounds its inputs
//! to bf16 (round to nearest even) before multiplying.

mod bf16_avx512;
mod f32_avx2;
mod f32_avx512;
mod f32_generic;
mod f32_neon;
mod int8_avx2;
#[cfg(target_arch = "x86_64")]
mod int8_vnni;
pub mod math;

use rayon::prelude::*;

use super::precision::Kernel;

/// Rows of a bf16 register tile.
const BF16_ROWS: usize = 6;
/// Columns of a bf16 panel (four 16-lane registers).
const BF16_COLS: usize = 64;
/// Rows of an f32 register tile.
pub const F32_ROWS: usize = 6;
/// Columns of an f32 panel (two 8-lane registers, or sixteen scalars).
pub const F32_COLS: usize = 16;
/// Rows per parallel task: enough work to amortise a task, few enough to share out.
const ROW_BLOCK: usize = 48;

/// A linear layer's weights, packed for one kernel.
#[derive(Debug)]
pub struct Linear {
    kernel: Kernel,
    n: usize,
    k: usize,
    /// The bias padded with zeros to whole panels.
    bias: Vec<f32>,
    packed: Packed,
}

#[derive(Debug)]
enum Packed {
    /// Panels of 64 output columns; within a panel, for each pair of inputs, 64 columns ×
    /// 2 bf16 (`[kk][col][pair]`): one 512-bit load per 16 columns feeds `vdpbf16ps`.
    Bf16 { data: Vec<u16>, k_pairs: usize },
    /// Panels of 16 output columns; within a panel, for each input, 16 f32 (`[k][col]`).
    F32 { data: Vec<f32> },
    /// Weights rounded to 8 bits with the inputs' smoothing (see `int8_avx2`).
    Int8(int8_avx2::PackedWeights),
}

/// Per-call scratch of a product (the bf16 or int8 copy of the input), reused between
/// calls.
#[derive(Debug, Default)]
pub struct Scratch {
    bf16: Vec<u16>,
    int8: int8_avx2::QuantizedRows,
    /// What rounding left of the rows [`Linear::forward_with_residual_rows`] refines, those
    /// residuals rounded, and their products.
    residuals: Vec<f32>,
    int8_residuals: int8_avx2::QuantizedRows,
    residual_products: Vec<f32>,
}

/// One f32 register tile with the best instructions this CPU has (AVX-512F, AVX2 + FMA,
/// NEON on ARM64, or plain Rust): `out[r][c] = Σ_{i<k} a[r·lda + i] · b[i·16 + c]`.
/// Attention's products use it on every path.
pub fn f32_tile(a: &[f32], lda: usize, k: usize, b: &[f32], out: &mut [[f32; F32_COLS]; F32_ROWS]) {
    #[cfg(target_arch = "aarch64")]
    f32_neon::tile(a, lda, k, b, out);
    #[cfg(not(target_arch = "aarch64"))]
    f32_avx512::tile(a, lda, k, b, out);
}

/// Whether the x86 f32 tiles run in 512-bit registers on this CPU (AVX-512F).
pub fn f32_tiles_use_avx512() -> bool {
    f32_avx512::available()
}

/// Whether the int8 tile runs with `vpdpbusd` on this CPU (AVX-512 VNNI).
pub fn int8_tile_uses_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        int8_vnni::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Rounds to the nearest bf16, ties to even (NaN stays NaN). Branch-free, so loops of it
/// vectorise.
#[inline(always)]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounding = 0x7FFF + ((bits >> 16) & 1);
    let rounded = (bits.wrapping_add(rounding) >> 16) as u16;
    let quiet = ((bits >> 16) | 0x40) as u16;
    if x.is_nan() { quiet } else { rounded }
}

#[inline(always)]
fn rows_to_bf16_body(input: &[f32], k: usize, out: &mut [u16], stride: usize) {
    for (src, dst) in input.chunks_exact(k).zip(out.chunks_exact_mut(stride)) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = to_bf16(*s);
        }
    }
}

/// Converts the rows of `input` (`k` wide) to bf16 rows `stride` apart in `out`.
fn rows_to_bf16(input: &[f32], k: usize, out: &mut [u16], stride: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn wide(input: &[f32], k: usize, out: &mut [u16], stride: usize) {
            rows_to_bf16_body(input, k, out, stride);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the feature was just detected.
            unsafe { wide(input, k, out, stride) };
            return;
        }
    }
    rows_to_bf16_body(input, k, out, stride);
}

/// The f32 value of a bf16.
#[cfg(test)]
pub fn from_bf16(x: u16) -> f32 {
    f32::from_bits(u32::from(x) << 16)
}

impl Linear {
    /// Packs `weight` (`n × k`, row-major, PyTorch's layout) and `bias` (`n`) for `kernel`.
    pub fn new(kernel: Kernel, weight: &[f32], bias: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is n × k");
        assert_eq!(bias.len(), n, "one bias per output");
        let cols = match kernel {
            Kernel::Bf16Avx512 => BF16_COLS,
            Kernel::F32Avx2 | Kernel::Int8Avx2 | Kernel::F32Neon | Kernel::F32Generic => F32_COLS,
        };
        let panels = n.div_ceil(cols);
        let mut padded_bias = vec![0.0; panels * cols];
        padded_bias[..n].copy_from_slice(bias);
        let packed = match kernel {
            Kernel::Bf16Avx512 => {
                let k_pairs = k.div_ceil(2);
                let mut data = vec![0u16; panels * k_pairs * BF16_COLS * 2];
                // Read the weight row by row (one output column at a time), in order.
                for (col, row) in weight.chunks_exact(k).enumerate() {
                    let (panel, c) = (col / BF16_COLS, col % BF16_COLS);
                    let dst =
                        &mut data[panel * k_pairs * BF16_COLS * 2..][..k_pairs * BF16_COLS * 2];
                    for (input, w) in row.iter().enumerate() {
                        dst[((input / 2) * BF16_COLS + c) * 2 + input % 2] = to_bf16(*w);
                    }
                }
                Packed::Bf16 { data, k_pairs }
            }
            Kernel::F32Avx2 | Kernel::Int8Avx2 | Kernel::F32Neon | Kernel::F32Generic => {
                let mut data = vec![0f32; panels * k * F32_COLS];
                for (col, row) in weight.chunks_exact(k).enumerate() {
                    let (panel, c) = (col / F32_COLS, col % F32_COLS);
                    let dst = &mut data[panel * k * F32_COLS..][..k * F32_COLS];
                    for (input, w) in row.iter().enumerate() {
                        dst[input * F32_COLS + c] = *w;
                    }
                }
                Packed::F32 { data }
            }
        };
        Self {
            kernel,
            n,
            k,
            bias: padded_bias,
            packed,
        }
    }

    /// Packs a layer whose products may run in int8: with [`Kernel::Int8Avx2`] (and `k` a
    /// multiple of 32) the weights are rounded to 8 bits per block of 32 after multiplying
    /// input channel `j` by `smoothing[j]`, and the inputs are divided by it and rounded to
    /// 7 bits per block of 32 at every call; any other kernel packs the layer exactly as
    /// [`Linear::new`] does and ignores `smoothing`.
    pub fn quantized(
        kernel: Kernel,
        weight: &[f32],
        bias: &[f32],
        n: usize,
        k: usize,
        smoothing: &[f32],
    ) -> Self {
        if kernel != Kernel::Int8Avx2 || !k.is_multiple_of(int8_avx2::BLOCK) {
            return Self::new(kernel, weight, bias, n, k);
        }
        assert_eq!(bias.len(), n, "one bias per output");
        let mut padded_bias = vec![0.0; n.div_ceil(F32_COLS) * F32_COLS];
        padded_bias[..n].copy_from_slice(bias);
        Self {
            kernel,
            n,
            k,
            bias: padded_bias,
            packed: Packed::Int8(int8_avx2::PackedWeights::new(weight, n, k, smoothing)),
        }
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// `out[m × n] = input[m × k] · weightᵀ + bias`, on the current rayon pool (the tests'
    /// shorthand for [`Linear::forward_strided`]).
    #[cfg(test)]
    pub fn forward(&self, input: &[f32], m: usize, out: &mut [f32], scratch: &mut Scratch) {
        self.forward_strided(input, m, out, self.n, scratch);
    }

    /// [`Linear::forward_strided`], except that an int8 layer rounds the inputs of the rows
    /// listed in `residual_rows` (indices below `m`) twice: the row, then what that rounding
    /// left (its residual, [`int8_avx2::QuantizedRows::append_residual`]), and adds the
    /// residual's product to the row's. Those rows' inputs thus keep about 14 bits; the
    /// weights stay rounded to 8. Every row's result depends on that row alone, so a text
    /// embeds the same alone as in any batch. The encoder refines each sequence's first and
    /// last token ([CLS] and [SEP]) this way: BERT's largest activations are structured
    /// outliers tied to these special tokens (Bondarenko et al. 2021, arXiv:2109.12948:
    /// heads attend to [SEP] to do nothing), and rounding them costs more of the cosine
    /// with sentence-transformers than rounding every other token
    /// (`benches/int8_layers.py`). The cost is one more rounded row per listed row.
    pub fn forward_with_residual_rows(
        &self,
        input: &[f32],
        m: usize,
        out: &mut [f32],
        out_stride: usize,
        scratch: &mut Scratch,
        residual_rows: &[usize],
    ) {
        self.forward_strided(input, m, out, out_stride, scratch);
        let Packed::Int8(weights) = &self.packed else {
            return;
        };
        if residual_rows.is_empty() {
            return;
        }
        let (k, n) = (self.k, self.n);
        let mut residuals = std::mem::take(&mut scratch.residuals);
        residuals.clear();
        for &row in residual_rows {
            assert!(row < m, "row {row} outside the {m} rows");
            scratch
                .int8
                .append_residual(row, &input[row * k..][..k], weights, &mut residuals);
        }
        let count = residual_rows.len();
        scratch.int8_residuals.fill(&residuals, count, weights);
        let mut products = std::mem::take(&mut scratch.residual_products);
        products.clear();
        products.resize(count * n, 0.0);
        self.int8_product(weights, &scratch.int8_residuals, count, &mut products, n);
        for (&row, product) in residual_rows.iter().zip(products.chunks_exact(n)) {
            // The product came with the bias, which the row's own product already holds.
            let dst = &mut out[row * out_stride..][..n];
            for ((d, p), b) in dst.iter_mut().zip(product).zip(&self.bias) {
                *d += p - b;
            }
        }
        scratch.residuals = residuals;
        scratch.residual_products = products;
    }

    /// [`Linear::forward`] into rows `out_stride` apart: row `r` of the product goes to
    /// `out[r · out_stride..][..n]` and nothing else of `out` is written, so products of one
    /// input can fill adjacent columns of one output (`out_stride ≥ n`).
    pub fn forward_strided(
        &self,
        input: &[f32],
        m: usize,
        out: &mut [f32],
        out_stride: usize,
        scratch: &mut Scratch,
    ) {
        assert!(
            out_stride >= self.n,
            "rows {out_stride} apart cannot hold {} outputs",
            self.n
        );
        if m == 0 {
            return;
        }
        assert!(input.len() >= m * self.k && out.len() >= (m - 1) * out_stride + self.n);
        let out_ptr = SendPtr::new(out.as_mut_ptr());
        match &self.packed {
            Packed::Bf16 { data, k_pairs } => {
                let k_pairs = *k_pairs;
                // The input in bf16, rows padded to whole tiles, each row k_pairs × 2 long.
                let rows = m.div_ceil(BF16_ROWS) * BF16_ROWS;
                let stride = k_pairs * 2;
                scratch.bf16.clear();
                scratch.bf16.resize(rows * stride, 0);
                rows_to_bf16(&input[..m * self.k], self.k, &mut scratch.bf16, stride);
                let a = scratch.bf16.as_slice();
                let panels = self.n.div_ceil(BF16_COLS);
                let blocks = m.div_ceil(ROW_BLOCK);
                (0..panels * blocks).into_par_iter().for_each(|task| {
                    let (panel, block) = (task % panels, task / panels);
                    let b = &data[panel * k_pairs * BF16_COLS * 2..][..k_pairs * BF16_COLS * 2];
                    let col0 = panel * BF16_COLS;
                    let cols = BF16_COLS.min(self.n - col0);
                    let bias = &self.bias[col0..col0 + BF16_COLS];
                    let first = block * ROW_BLOCK;
                    let last = (first + ROW_BLOCK).min(m);
                    for row in (first..last).step_by(BF16_ROWS) {
                        let rows = BF16_ROWS.min(last - row);
                        let a_tile = &a[row * stride..][..BF16_ROWS * stride];
                        // SAFETY: the tile writes rows row..row+rows and columns
                        // col0..col0+cols of `out`, whose rows lie `out_stride` apart: in
                        // bounds (asserted), and no other task writes them (tasks own
                        // distinct panel × row-block pairs).
                        unsafe {
                            let c = out_ptr.get().add(row * out_stride + col0);
                            bf16_avx512::tile(
                                a_tile, stride, b, k_pairs, bias, c, out_stride, rows, cols,
                            );
                        }
                    }
                });
            }
            Packed::F32 { data } => {
                let panels = self.n.div_ceil(F32_COLS);
                // With AVX-512 a task computes two adjacent panels at once (12 × 32 tiles).
                let x86 = matches!(self.kernel, Kernel::F32Avx2 | Kernel::Int8Avx2);
                let group = if x86 && f32_avx512::available() { 2 } else { 1 };
                let groups = panels.div_ceil(group);
                let blocks = m.div_ceil(ROW_BLOCK);
                let k = self.k;
                let panel_of = |p: usize| &data[p * k * F32_COLS..][..k * F32_COLS];
                (0..groups * blocks).into_par_iter().for_each(|task| {
                    let (first_panel, block) = ((task % groups) * group, task / groups);
                    let pair = group == 2 && first_panel + 1 < panels;
                    let col0 = first_panel * F32_COLS;
                    let first = block * ROW_BLOCK;
                    let last = (first + ROW_BLOCK).min(m);
                    let mut padded = Vec::new();
                    // Every kernel writes the whole tile: one per task, not zeroed per tile.
                    let mut tile = [[0f32; F32_COLS]; F32_ROWS];
                    let mut wide = [[0f32; f32_avx512::PAIR_COLS]; f32_avx512::PAIR_ROWS];
                    let tile_rows = if pair {
                        f32_avx512::PAIR_ROWS
                    } else {
                        F32_ROWS
                    };
                    for row in (first..last).step_by(tile_rows) {
                        let rows = tile_rows.min(last - row);
                        let a_tile: &[f32] = if rows == tile_rows {
                            &input[row * k..][..tile_rows * k]
                        } else {
                            // The last, short tile: zero rows below the input's end.
                            padded.clear();
                            padded.extend_from_slice(&input[row * k..][..rows * k]);
                            padded.resize(tile_rows * k, 0.0);
                            &padded
                        };
                        let b = panel_of(first_panel);
                        if pair {
                            let b1 = panel_of(first_panel + 1);
                            f32_avx512::pair_tile(a_tile, k, k, b, b1, &mut wide);
                            let cols = f32_avx512::PAIR_COLS.min(self.n - col0);
                            // SAFETY: only this task writes these panels' columns of these
                            // rows.
                            unsafe {
                                self.store(&wide[..rows], out_ptr, out_stride, row, col0, cols)
                            };
                            continue;
                        }
                        match self.kernel {
                            Kernel::F32Avx2 | Kernel::Int8Avx2 => {
                                f32_avx512::tile(a_tile, k, k, b, &mut tile)
                            }
                            Kernel::F32Neon => f32_neon::tile(a_tile, k, k, b, &mut tile),
                            Kernel::F32Generic | Kernel::Bf16Avx512 => {
                                f32_generic::tile(a_tile, k, k, b, &mut tile)
                            }
                        }
                        let cols = F32_COLS.min(self.n - col0);
                        // SAFETY: only this task writes this panel's columns of these rows.
                        unsafe { self.store(&tile[..rows], out_ptr, out_stride, row, col0, cols) };
                    }
                });
            }
            Packed::Int8(weights) => {
                scratch.int8.fill(&input[..m * self.k], m, weights);
                self.int8_product(weights, &scratch.int8, m, out, out_stride);
            }
        }
    }

    /// The product of `m` rows rounded for `weights`, plus the bias, into rows `out_stride`
    /// apart in `out`.
    fn int8_product(
        &self,
        weights: &int8_avx2::PackedWeights,
        rounded: &int8_avx2::QuantizedRows,
        m: usize,
        out: &mut [f32],
        out_stride: usize,
    ) {
        assert!(m > 0 && out.len() >= (m - 1) * out_stride + self.n);
        let out_ptr = SendPtr::new(out.as_mut_ptr());
        let panels = self.n.div_ceil(int8_avx2::COLS);
        let blocks = m.div_ceil(ROW_BLOCK);
        (0..panels * blocks).into_par_iter().for_each(|task| {
            let (panel, block) = (task % panels, task / panels);
            let col0 = panel * int8_avx2::COLS;
            let cols = int8_avx2::COLS.min(self.n - col0);
            let first = block * ROW_BLOCK;
            let last = (first + ROW_BLOCK).min(m);
            let mut tile = [[0f32; int8_avx2::COLS]; int8_avx2::ROWS];
            for row in (first..last).step_by(int8_avx2::ROWS) {
                let rows = int8_avx2::ROWS.min(last - row);
                int8_avx2::tile(rounded, row, weights, panel, &mut tile);
                // SAFETY: only this task writes this panel's columns of these rows.
                unsafe { self.store(&tile[..rows], out_ptr, out_stride, row, col0, cols) };
            }
        });
    }

    /// Writes a tile's rows plus the bias to `out` (`m` rows `stride` apart) at `row`,
    /// columns `col0..col0 + cols`.
    ///
    /// # Safety
    /// `row + tile.len() ≤ m`, `col0 + cols ≤ n ≤ stride`, and no other thread writes those
    /// elements meanwhile.
    unsafe fn store<const COLS: usize>(
        &self,
        tile: &[[f32; COLS]],
        out: SendPtr,
        stride: usize,
        row: usize,
        col0: usize,
        cols: usize,
    ) {
        let bias = &self.bias[col0..col0 + cols];
        for (r, values) in tile.iter().enumerate() {
            // SAFETY: inside `out` and written by this thread alone (the caller's promise).
            let dst = unsafe {
                std::slice::from_raw_parts_mut(out.get().add((row + r) * stride + col0), cols)
            };
            for ((d, v), b) in dst.iter_mut().zip(values).zip(bias) {
                *d = v + b;
            }
        }
    }
}

/// A raw pointer that tasks writing disjoint parts of one buffer share.
#[derive(Clone, Copy)]
pub struct SendPtr(*mut f32);

// SAFETY: every task writes a disjoint set of elements (see the callers).
unsafe impl Send for SendPtr {}
// SAFETY: as above; the pointer itself is only copied.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// Wraps `pointer`; every task given it must write elements no other task writes.
    pub fn new(pointer: *mut f32) -> Self {
        Self(pointer)
    }

    /// The pointer.
    pub fn get(self) -> *mut f32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product in f64 from the same inputs, rounded to bf16 first when `bf16`.
    fn reference(
        input: &[f32],
        weight: &[f32],
        bias: &[f32],
        m: usize,
        n: usize,
        k: usize,
        bf16: bool,
    ) -> Vec<f64> {
        let round = |x: f32| {
            if bf16 {
                f64::from(from_bf16(to_bf16(x)))
            } else {
                f64::from(x)
            }
        };
        let mut out = vec![0.0; m * n];
        for r in 0..m {
            for c in 0..n {
                let mut sum = f64::from(bias[c]);
                for i in 0..k {
                    sum += round(input[r * k + i]) * round(weight[c * k + i]);
                }
                out[r * n + c] = sum;
            }
        }
        out
    }

    /// `count` pseudo-random values in [-1, 1) from `seed` (a linear congruential
    /// generator: reproducible, no dependency).
    pub(super) fn values(count: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Every kernel this CPU can run.
    fn available_kernels() -> impl Iterator<Item = Kernel> {
        [
            Kernel::Bf16Avx512,
            Kernel::F32Avx2,
            Kernel::Int8Avx2,
            Kernel::F32Neon,
            Kernel::F32Generic,
        ]
        .into_iter()
        .filter(|kernel| kernel.available())
    }

    #[test]
    fn every_available_kernel_matches_the_reference_on_ragged_shapes() {
        // Shapes with partial tiles, partial panels, odd k and several row blocks.
        for &(m, n, k) in &[
            (1, 16, 8),
            (5, 70, 33),
            (13, 384, 384),
            (97, 130, 17),
            (7, 1536, 384),
        ] {
            let input = values(m * k, 1 + m as u64);
            let weight = values(n * k, 2 + n as u64);
            let bias = values(n, 3 + k as u64);
            for kernel in available_kernels() {
                let linear = Linear::new(kernel, &weight, &bias, n, k);
                let mut out = vec![f32::NAN; m * n];
                linear.forward(&input, m, &mut out, &mut Scratch::default());
                let bf16 = kernel == Kernel::Bf16Avx512;
                let want = reference(&input, &weight, &bias, m, n, k, bf16);
                let worst = out
                    .iter()
                    .zip(&want)
                    .map(|(o, w)| (f64::from(*o) - w).abs())
                    .fold(0.0, f64::max);
                // f32 accumulation of k products of magnitude ≤ 1.
                assert!(
                    worst < 1e-5 * k as f64,
                    "{kernel:?} {m}×{n}×{k}: off by {worst}"
                );
            }
        }
    }

    #[test]
    fn an_int8_layer_writes_every_tile_with_its_bias_on_ragged_shapes() {
        if !Kernel::Int8Avx2.available() {
            return;
        }
        // Partial tiles and panels, several row blocks and panels per thread.
        let (m, n, k) = (101, 70, 64);
        let input = values(m * k, 31);
        let weight = values(n * k, 32);
        let bias = values(n, 33);
        let smoothing: Vec<f32> = values(k, 34).iter().map(|v| 0.5 + v.abs()).collect();
        let linear = Linear::quantized(Kernel::Int8Avx2, &weight, &bias, n, k, &smoothing);
        assert!(matches!(linear.packed, Packed::Int8(_)));
        let mut out = vec![f32::NAN; m * n];
        linear.forward(&input, m, &mut out, &mut Scratch::default());
        let Packed::Int8(weights) = &linear.packed else {
            return;
        };
        let mut rows = int8_avx2::QuantizedRows::default();
        rows.fill(&input, m, weights);
        for row in (0..m).step_by(int8_avx2::ROWS) {
            for panel in 0..n.div_ceil(int8_avx2::COLS) {
                let mut tile = [[0f32; int8_avx2::COLS]; int8_avx2::ROWS];
                int8_avx2::tile(&rows, row, weights, panel, &mut tile);
                for (r, values) in tile.iter().enumerate().take(m - row) {
                    for (c, v) in values.iter().enumerate().take(n - panel * 16) {
                        let col = panel * 16 + c;
                        assert_eq!(out[(row + r) * n + col], v + bias[col], "{row}+{r}, {col}");
                    }
                }
            }
        }
        // Other kernels pack the same layer exactly (the smoothing is ignored).
        let exact = Linear::quantized(Kernel::F32Generic, &weight, &bias, n, k, &smoothing);
        assert!(matches!(exact.packed, Packed::F32 { .. }));
    }

    #[test]
    fn products_side_by_side_fill_their_own_columns_of_one_output() {
        // An int8 and an f32 product of one input, as the encoder's queries and keys beside
        // its values: each fills its columns of a 3-wide row exactly as it fills an output
        // of its own, and nothing past its columns.
        let (m, k, n) = (53, 64, 40);
        let input = values(m * k, 41);
        let first = (values(2 * n * k, 42), values(2 * n, 43));
        let second = (values(n * k, 44), values(n, 45));
        let smoothing = vec![1.0; k];
        for kernel in available_kernels() {
            let parts = [
                Linear::quantized(kernel, &first.0, &first.1, 2 * n, k, &smoothing),
                Linear::new(kernel, &second.0, &second.1, n, k),
            ];
            let stride = 3 * n + 5;
            let mut side_by_side = vec![f32::NAN; m * stride];
            let mut column = 0;
            for part in &parts {
                let out = &mut side_by_side[column..];
                part.forward_strided(&input, m, out, stride, &mut Scratch::default());
                column += part.outputs();
            }
            column = 0;
            for part in &parts {
                let width = part.outputs();
                let mut alone = vec![f32::NAN; m * width];
                part.forward(&input, m, &mut alone, &mut Scratch::default());
                for (r, want) in alone.chunks_exact(width).enumerate() {
                    let got = &side_by_side[r * stride + column..][..width];
                    assert_eq!(got, want, "{kernel:?} row {r}, columns from {column}");
                }
                column += width;
            }
            for row in side_by_side.chunks_exact(stride) {
                assert!(row[3 * n..].iter().all(|v| v.is_nan()), "{kernel:?}");
            }
        }
    }

    #[test]
    fn an_int8_layer_refines_the_listed_rows_with_their_residuals() {
        let (n, k) = (40, 96);
        let weight = values(n * k, 62);
        let bias = values(n, 63);
        let smoothing = values(k, 64).iter().map(|v| 1.5 + v).collect::<Vec<_>>();
        let stride = n + 3;
        // However few rows there are: the listed rows refined, the others as `forward`.
        for (m, listed) in [(29, vec![0, 7, 8, 28]), (8, vec![0, 7])] {
            let input = values(m * k, 61);
            for kernel in available_kernels() {
                let layer = Linear::quantized(kernel, &weight, &bias, n, k, &smoothing);
                let mut refined = vec![f32::NAN; m * stride];
                let mut scratch = Scratch::default();
                layer.forward_with_residual_rows(
                    &input,
                    m,
                    &mut refined,
                    stride,
                    &mut scratch,
                    &listed,
                );
                let (mut rounded, mut exact) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
                layer.forward(&input, m, &mut rounded, &mut Scratch::default());
                let f32_layer = Linear::new(kernel, &weight, &bias, n, k);
                f32_layer.forward(&input, m, &mut exact, &mut Scratch::default());
                let (mut refined_error, mut rounded_error) = (0f64, 0f64);
                for r in 0..m {
                    let got = &refined[r * stride..][..n];
                    let want = &rounded[r * n..][..n];
                    assert!(refined[r * stride + n..].iter().take(3).all(|v| v.is_nan()));
                    if kernel != Kernel::Int8Avx2 || !listed.contains(&r) {
                        assert_eq!(got, want, "{kernel:?} {m} rows: row {r}");
                        continue;
                    }
                    for ((g, w), e) in got.iter().zip(want).zip(&exact[r * n..][..n]) {
                        refined_error += f64::from(g - e).powi(2);
                        rounded_error += f64::from(w - e).powi(2);
                    }
                }
                if kernel == Kernel::Int8Avx2 {
                    // What is left is the weights' rounding: well under the inputs' and
                    // weights' together.
                    assert!(
                        refined_error < rounded_error / 2.0,
                        "{m} rows: {refined_error} against {rounded_error}"
                    );
                }
            }
        }
    }

    #[test]
    fn bf16_rounding_is_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3F80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even one, 1.
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3F80);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: to 1 + 2^-6.
        assert_eq!(to_bf16(1.0 + 3.0 / 256.0), 0x3F82);
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(f32::INFINITY)), f32::INFINITY);
    }
}
