//! The int8 tile of [`super::int8_avx2`] for CPUs with AVX-512 VNNI (Intel Ice Lake and
//! later servers, AMD Zen 4 and later): one `vpdpbusd` multiplies 64 unsigned weight bytes
//! by 64 signed input bytes and adds each group of four products into a 32-bit lane, where
//! AVX2 needs `vpmaddubsw`, `vpmaddwd` and `vpaddd` for half as many.
//!
//! The rounded values and the integer sums are those of the AVX2 tile (exact: a block's sum
//! is at most 32 × 255 × 63 in magnitude), and each block's sum is corrected, scaled and
//! accumulated with the same operations, so the tile equals the AVX2 one bit for bit.

use super::int8_avx2::{BLOCK, COLS, Operands, ROWS};

/// Whether this CPU runs the VNNI tile.
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

/// The 4 × 16 tile of [`super::int8_avx2::tile`]: each block's integer sum, less its
/// offset correction, times its row's block scale and its columns' weight scales, summed
/// over the blocks.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 VNNI ([`available`]); `operands` must hold what
/// [`Operands`] describes.
#[target_feature(enable = "avx512f,avx512vnni")]
pub unsafe fn tile(operands: &Operands, out: &mut [[f32; COLS]; ROWS]) {
    use std::arch::x86_64::{
        __m512i, _mm512_cvtepi32_ps, _mm512_dpbusd_epi32, _mm512_fmadd_ps, _mm512_loadu_ps,
        _mm512_loadu_si512, _mm512_mul_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_setzero_si512, _mm512_storeu_ps, _mm512_sub_epi32,
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
    let mut acc = [_mm512_setzero_ps(); ROWS];
    // SAFETY: offsets stay within the extents the caller guarantees (see `Operands`).
    unsafe {
        for block in 0..blocks {
            let mut sums = [_mm512_setzero_si512(); ROWS];
            for step in 0..BLOCK / 4 {
                let i = block * BLOCK + step * 4;
                // Four inputs × 16 columns of unsigned weight bytes.
                let w = _mm512_loadu_si512(b.add(i * COLS).cast::<__m512i>());
                for (r, sum) in sums.iter_mut().enumerate() {
                    let x = _mm512_set1_epi32(values.add(r * k + i).cast::<i32>().read_unaligned());
                    *sum = _mm512_dpbusd_epi32(*sum, w, x);
                }
            }
            let columns = _mm512_loadu_ps(weight_scales.add(block * COLS));
            for (r, (acc, sum)) in acc.iter_mut().zip(&sums).enumerate() {
                let scale = _mm512_set1_ps(*scales.add(r * blocks + block));
                let offset = _mm512_set1_epi32(*offsets.add(r * blocks + block));
                let exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(*sum, offset));
                *acc = _mm512_fmadd_ps(exact, _mm512_mul_ps(columns, scale), *acc);
            }
        }
        for (row, acc) in out.iter_mut().zip(&acc) {
            _mm512_storeu_ps(row.as_mut_ptr(), *acc);
        }
    }
}
