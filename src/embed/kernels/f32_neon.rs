//! The f32 register tile for ARM64: 6 rows × 16 columns in 24 of NEON's 32 registers (four
//! 4-lane registers a row), with the same panel layout as the AVX2 tile. NEON is part of
//! every aarch64 CPU, so nothing is detected at run time.

use super::{F32_COLS, F32_ROWS};

/// `out[r][c] = Σ_{i<k} a[r·lda + i] · b[i·16 + c]` for one 6 × 16 tile (no bias).
///
/// Panics unless `a` holds 6 rows `lda ≥ k` apart and `b` `k` × 16. Runs the generic tile
/// on other architectures.
pub fn tile(a: &[f32], lda: usize, k: usize, b: &[f32], out: &mut [[f32; F32_COLS]; F32_ROWS]) {
    assert!(lda >= k && a.len() >= (F32_ROWS - 1) * lda + k && b.len() >= k * F32_COLS);
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: the extents were asserted above; NEON is in the aarch64 baseline.
        unsafe { tile_neon(a.as_ptr(), lda, k, b.as_ptr(), out) };
    }
    #[cfg(not(target_arch = "aarch64"))]
    super::f32_generic::tile(a, lda, k, b, out);
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn tile_neon(
    a: *const f32,
    lda: usize,
    k: usize,
    b: *const f32,
    out: &mut [[f32; F32_COLS]; F32_ROWS],
) {
    use std::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_n_f32, vld1q_f32, vst1q_f32};
    let zero = vdupq_n_f32(0.0);
    let mut acc: [[float32x4_t; 4]; F32_ROWS] = [[zero; 4]; F32_ROWS];
    // SAFETY: offsets stay within 6 rows lda apart (a) and k × 16 (b), as asserted.
    unsafe {
        for i in 0..k {
            let column = b.add(i * F32_COLS);
            let w = [
                vld1q_f32(column),
                vld1q_f32(column.add(4)),
                vld1q_f32(column.add(8)),
                vld1q_f32(column.add(12)),
            ];
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = *a.add(r * lda + i);
                for (sum, w) in acc.iter_mut().zip(&w) {
                    *sum = vfmaq_n_f32(*sum, *w, x);
                }
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            for (lanes, sum) in acc.iter().enumerate() {
                vst1q_f32(row.as_mut_ptr().add(4 * lanes), *sum);
            }
        }
    }
}
