//! The f32 register tiles for CPUs with AVX-512F (with or without BF16): the AVX2 tiles'
//! arithmetic in 512-bit registers.
//!
//! Every output lane runs the same chain of fused multiply-adds over `i` in the same order as
//! the AVX2 tile, so the results are the AVX2 tile's bit for bit; only the register width
//! differs. Two tiles: one panel of 16 columns (one register per row: attention's products
//! and an odd last panel) and two adjacent panels at once (12 × 32, two registers per row:
//! twenty-four multiply-adds per fourteen loads, where the AVX2 tile does twelve per eight).

use super::{F32_COLS, F32_ROWS};

/// Columns of the two-panel tile.
pub const PAIR_COLS: usize = 2 * F32_COLS;
/// Rows of the two-panel tile: 24 accumulators of the 32 registers, so each 128 bytes of
/// weights loaded feed 24 multiply-adds.
pub const PAIR_ROWS: usize = 12;

/// Whether this CPU runs the AVX-512 tiles.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[r][c] = Σ_{i<k} a[r·lda + i] · b[i·16 + c]` for one 6 × 16 tile (no bias).
///
/// Panics unless `a` holds 6 rows `lda ≥ k` apart and `b` `k` × 16. Runs the AVX2 tile on
/// a CPU without AVX-512F.
pub fn tile(a: &[f32], lda: usize, k: usize, b: &[f32], out: &mut [[f32; F32_COLS]; F32_ROWS]) {
    assert!(lda >= k && a.len() >= (F32_ROWS - 1) * lda + k && b.len() >= k * F32_COLS);
    #[cfg(target_arch = "x86_64")]
    {
        if available() {
            // SAFETY: the feature was just detected, and the extents asserted above.
            unsafe { tile_avx512(a.as_ptr(), lda, k, b.as_ptr(), out) };
            return;
        }
    }
    super::f32_avx2::tile(a, lda, k, b, out);
}

/// The 12 × 32 tile of two adjacent panels `b0` and `b1` (each `k` × 16, as packed for the
/// AVX2 tile): columns 0..16 from `b0`, 16..32 from `b1`.
///
/// Panics unless `a` holds 12 rows `lda ≥ k` apart and each panel `k` × 16. Runs the AVX2
/// tile four times on a CPU without AVX-512F.
pub fn pair_tile(
    a: &[f32],
    lda: usize,
    k: usize,
    b0: &[f32],
    b1: &[f32],
    out: &mut [[f32; PAIR_COLS]; PAIR_ROWS],
) {
    assert!(lda >= k && a.len() >= (PAIR_ROWS - 1) * lda + k);
    assert!(b0.len() >= k * F32_COLS && b1.len() >= k * F32_COLS);
    #[cfg(target_arch = "x86_64")]
    {
        if available() {
            // SAFETY: the feature was just detected, and the extents asserted above.
            unsafe { pair_tile_avx512(a.as_ptr(), lda, k, b0.as_ptr(), b1.as_ptr(), out) };
            return;
        }
    }
    let mut quarter = [[0f32; F32_COLS]; F32_ROWS];
    for (b, at) in [(b0, 0), (b1, F32_COLS)] {
        for (r0, rows) in out.chunks_exact_mut(F32_ROWS).enumerate() {
            super::f32_avx2::tile(&a[r0 * F32_ROWS * lda..], lda, k, b, &mut quarter);
            for (row, part) in rows.iter_mut().zip(&quarter) {
                row[at..at + F32_COLS].copy_from_slice(part);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(
    a: *const f32,
    lda: usize,
    k: usize,
    b: *const f32,
    out: &mut [[f32; F32_COLS]; F32_ROWS],
) {
    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };
    let mut acc: [__m512; F32_ROWS] = [_mm512_setzero_ps(); F32_ROWS];
    // SAFETY: offsets stay within 6 rows lda apart (a) and k × 16 (b), as the caller asserted.
    unsafe {
        for i in 0..k {
            let w = _mm512_loadu_ps(b.add(i * F32_COLS));
            for (r, acc) in acc.iter_mut().enumerate() {
                *acc = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(r * lda + i)), w, *acc);
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            _mm512_storeu_ps(row.as_mut_ptr(), *acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pair_tile_avx512(
    a: *const f32,
    lda: usize,
    k: usize,
    b0: *const f32,
    b1: *const f32,
    out: &mut [[f32; PAIR_COLS]; PAIR_ROWS],
) {
    use std::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };
    let mut acc: [[__m512; 2]; PAIR_ROWS] = [[_mm512_setzero_ps(); 2]; PAIR_ROWS];
    // SAFETY: offsets stay within 12 rows lda apart (a) and k × 16 (each panel), as the
    // caller asserted.
    unsafe {
        for i in 0..k {
            let w0 = _mm512_loadu_ps(b0.add(i * F32_COLS));
            let w1 = _mm512_loadu_ps(b1.add(i * F32_COLS));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a.add(r * lda + i));
                acc[0] = _mm512_fmadd_ps(x, w0, acc[0]);
                acc[1] = _mm512_fmadd_ps(x, w1, acc[1]);
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            _mm512_storeu_ps(row.as_mut_ptr(), acc[0]);
            _mm512_storeu_ps(row.as_mut_ptr().add(F32_COLS), acc[1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::values;
    use super::*;

    #[test]
    fn the_avx512_tiles_equal_the_avx2_tile_bit_for_bit() {
        // Without AVX-512F this checks the fallbacks.
        for (k, lda) in [(1, 1), (32, 40), (384, 384), (77, 80)] {
            let a = values(PAIR_ROWS * lda, 41 + k as u64);
            let b0 = values(k * F32_COLS, 42 + k as u64);
            let b1 = values(k * F32_COLS, 43 + k as u64);
            let mut single = [[f32::NAN; F32_COLS]; F32_ROWS];
            tile(&a, lda, k, &b0, &mut single);
            let mut pair = [[f32::NAN; PAIR_COLS]; PAIR_ROWS];
            pair_tile(&a, lda, k, &b0, &b1, &mut pair);
            for r0 in [0, F32_ROWS] {
                for (b, at) in [(&b0, 0), (&b1, F32_COLS)] {
                    let mut want = [[0f32; F32_COLS]; F32_ROWS];
                    super::super::f32_avx2::tile(&a[r0 * lda..], lda, k, b, &mut want);
                    for (r, want) in want.iter().enumerate() {
                        for (c, want) in want.iter().enumerate() {
                            let got = pair[r0 + r][at + c];
                            assert_eq!(got.to_bits(), want.to_bits(), "k {k}: {r},{c}");
                            if r0 == 0 && at == 0 {
                                assert_eq!(single[r][c].to_bits(), want.to_bits(), "k {k}");
                            }
                        }
                    }
                }
            }
        }
    }
}
