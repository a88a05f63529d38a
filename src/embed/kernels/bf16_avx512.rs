//! The bf16 register tile: 6 rows × 64 columns accumulated in 24 AVX-512 registers with
//! `vdpbf16ps` (two bf16 products per f32 lane per instruction).

use super::{BF16_COLS, BF16_ROWS};

/// `c[r][col] = Σ a[r] · b[col] + bias[col]` for `r < rows`, `col < cols` of one tile.
///
/// `a`: 6 rows of `stride` bf16 (pairs of inputs side by side); `b`: one packed panel of
/// `k_pairs` × 64 × 2 bf16; `bias`: 64 floats; `c`: the tile's first element in a row-major
/// matrix with `ldc` columns.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 BF16 (`Kernel::Bf16Avx512` is only chosen when it
/// does), `a` must hold 6 × `stride` values with `stride ≥ 2 · k_pairs`, `b` `k_pairs` ×
/// 128, `bias` 64, and `c` must be valid for writes of `rows` rows of `cols` (≤ 64) floats
/// `ldc` apart.
#[expect(clippy::too_many_arguments, reason = "a register tile's extents")]
pub unsafe fn tile(
    a: &[u16],
    stride: usize,
    b: &[u16],
    k_pairs: usize,
    bias: &[f32],
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    debug_assert!(a.len() >= BF16_ROWS * stride && stride >= 2 * k_pairs);
    debug_assert!(b.len() >= k_pairs * BF16_COLS * 2 && bias.len() >= BF16_COLS);
    debug_assert!(rows <= BF16_ROWS && cols <= BF16_COLS);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller guarantees the CPU features and the extents.
    unsafe {
        tile_avx512(
            a.as_ptr(),
            stride,
            b.as_ptr(),
            k_pairs,
            bias.as_ptr(),
            c,
            ldc,
            rows,
            cols,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, stride, b, k_pairs, bias, c, ldc, rows, cols);
        unreachable!("the bf16 kernel is only chosen on x86-64 CPUs with AVX-512 BF16");
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[expect(clippy::too_many_arguments, reason = "a register tile's extents")]
unsafe fn tile_avx512(
    a: *const u16,
    stride: usize,
    b: *const u16,
    k_pairs: usize,
    bias: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    use std::arch::x86_64::{
        __m512, __m512bh, _mm512_add_ps, _mm512_dpbf16_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
        _mm512_set1_epi32, _mm512_setzero_ps, _mm512_storeu_ps,
    };
    use std::mem::transmute;

    let mut acc: [[__m512; 4]; BF16_ROWS] = [[_mm512_setzero_ps(); 4]; BF16_ROWS];
    // SAFETY (whole body): every pointer offset stays inside the extents the caller vouched
    // for; loads and stores are unaligned-tolerant.
    unsafe {
        for kk in 0..k_pairs {
            let panel = b.add(kk * BF16_COLS * 2).cast::<f32>();
            let b0: __m512bh = transmute(_mm512_loadu_ps(panel));
            let b1: __m512bh = transmute(_mm512_loadu_ps(panel.add(16)));
            let b2: __m512bh = transmute(_mm512_loadu_ps(panel.add(32)));
            let b3: __m512bh = transmute(_mm512_loadu_ps(panel.add(48)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let pair = a.add(r * stride + kk * 2).cast::<i32>().read_unaligned();
                let x: __m512bh = transmute(_mm512_set1_epi32(pair));
                acc[0] = _mm512_dpbf16_ps(acc[0], x, b0);
                acc[1] = _mm512_dpbf16_ps(acc[1], x, b1);
                acc[2] = _mm512_dpbf16_ps(acc[2], x, b2);
                acc[3] = _mm512_dpbf16_ps(acc[3], x, b3);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            if r >= rows {
                break;
            }
            for (q, value) in acc.iter().enumerate() {
                let col = q * 16;
                if col >= cols {
                    break;
                }
                let v = _mm512_add_ps(*value, _mm512_loadu_ps(bias.add(col)));
                let dst = c.add(r * ldc + col);
                let left = cols - col;
                if left >= 16 {
                    _mm512_storeu_ps(dst, v);
                } else {
                    _mm512_mask_storeu_ps(dst, (1u16 << left) - 1, v);
                }
            }
        }
    }
}
