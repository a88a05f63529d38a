//! The f32 register tile in plain Rust, for any CPU: 6 rows × 16 columns.

use super::{F32_COLS, F32_ROWS};

/// `out[r][c] = Σ_{i<k} a[r·lda + i] · b[i·16 + c]` for one 6 × 16 tile (no bias).
pub fn tile(a: &[f32], lda: usize, k: usize, b: &[f32], out: &mut [[f32; F32_COLS]; F32_ROWS]) {
    let mut acc = [[0f32; F32_COLS]; F32_ROWS];
    for (i, column) in b.chunks_exact(F32_COLS).take(k).enumerate() {
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = a[r * lda + i];
            for (sum, w) in acc.iter_mut().zip(column) {
                *sum += x * w;
            }
        }
    }
    *out = acc;
}
