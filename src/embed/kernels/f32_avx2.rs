//! The f32 register tile for CPUs with AVX2 and FMA: 6 rows × 16 columns in 12 registers.

use super::{F32_COLS, F32_ROWS};

/// `out[r][c] = Σ_{i<k} a[r·lda + i] · b[i·16 + c]` for one 6 × 16 tile (no bias).
///
/// Panics unless `a` holds 6 rows `lda ≥ k` apart and `b` `k` × 16. Runs the generic tile
/// on a CPU without AVX2 and FMA.
pub fn tile(a: &[f32], lda: usize, k: usize, b: &[f32], out: &mut [[f32; F32_COLS]; F32_ROWS]) {
    assert!(lda >= k && a.len() >= (F32_ROWS - 1) * lda + k && b.len() >= k * F32_COLS);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features were just detected, and the extents asserted above.
            unsafe { tile_avx2(a.as_ptr(), lda, k, b.as_ptr(), out) };
            return;
        }
    }
    super::f32_generic::tile(a, lda, k, b, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(
    a: *const f32,
    lda: usize,
    k: usize,
    b: *const f32,
    out: &mut [[f32; F32_COLS]; F32_ROWS],
) {
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };
    let mut acc: [[__m256; 2]; F32_ROWS] = [[_mm256_setzero_ps(); 2]; F32_ROWS];
    // SAFETY: offsets stay within 6 rows lda apart (a) and k × 16 (b), as asserted.
    unsafe {
        for i in 0..k {
            let b0 = _mm256_loadu_ps(b.add(i * F32_COLS));
            let b1 = _mm256_loadu_ps(b.add(i * F32_COLS + 8));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*a.add(r * lda + i));
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            _mm256_storeu_ps(row.as_mut_ptr(), acc[0]);
            _mm256_storeu_ps(row.as_mut_ptr().add(8), acc[1]);
        }
    }
}
