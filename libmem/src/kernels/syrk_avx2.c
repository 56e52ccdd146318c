/* AVX2/FMA tile of the syrk kernel (compiled with -mavx2 -mfma -ffp-contract=off; called only
 * after the run-time CPU check; the tile loop is in syrk.c).
 *
 * A tile's float64 sums live in a private, contiguous buffer while the row blocks go by (C itself
 * often has a power-of-two row stride, whose rows would fight over the same cache sets). For each
 * block, the 6x16 micro-kernel keeps its 12 accumulators in registers from 0 to the block's end,
 * then adds them to the tile in float64. Its operands are read in place from the packed layout:
 * 6 columns (broadcast) and 16 columns (two vectors) of the same column groups, one row of 48
 * floats apart per step. MEM_SYRK_BLOCK = 128 keeps a block's 16-column operand and the 6-column
 * operand's group rows (shared by the next micro-tiles down) within L1 together. Micro-tiles
 * wholly below the diagonal are skipped; those crossing it are computed whole. */
#include "gemm_internal.h"

#if MEM_GEMM_HAVE_AVX2

#include <immintrin.h>
#include <stdlib.h>

#include "syrk.h"

#define MR 6   /* micro-tile rows (broadcast operand) */
#define NR 16  /* micro-tile columns (two ymm) */
#define G MEM_SYRK_GROUP
#define TN MEM_SYRK_TILE_COLS

static inline int64_t min_i64(int64_t x, int64_t y) { return x < y ? x : y; }

/* c[0..8) (float64) = the 8 lanes of v (first block) or += them. */
static inline void add8(double *c, __m256 v, int first) {
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    if (!first) {
        lo = _mm256_add_pd(lo, _mm256_load_pd(c));
        hi = _mm256_add_pd(hi, _mm256_load_pd(c + 4));
    }
    _mm256_store_pd(c, lo);
    _mm256_store_pd(c + 4, hi);
}

/* One 6x16 micro-tile over kc rows: ap and bp point at the block's first row of the operands; the
 * sums go to ct (row stride TN, 64-byte aligned rows). */
static void micro_6x16(int64_t kc, const float *restrict ap, const float *restrict bp, double *ct,
                       int first) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++, ap += G, bp += G) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        __m256 av = _mm256_broadcast_ss(ap);
        a0 = _mm256_fmadd_ps(av, b0, a0);
        a1 = _mm256_fmadd_ps(av, b1, a1);
        av = _mm256_broadcast_ss(ap + 1);
        a2 = _mm256_fmadd_ps(av, b0, a2);
        a3 = _mm256_fmadd_ps(av, b1, a3);
        av = _mm256_broadcast_ss(ap + 2);
        a4 = _mm256_fmadd_ps(av, b0, a4);
        a5 = _mm256_fmadd_ps(av, b1, a5);
        av = _mm256_broadcast_ss(ap + 3);
        a6 = _mm256_fmadd_ps(av, b0, a6);
        a7 = _mm256_fmadd_ps(av, b1, a7);
        av = _mm256_broadcast_ss(ap + 4);
        a8 = _mm256_fmadd_ps(av, b0, a8);
        a9 = _mm256_fmadd_ps(av, b1, a9);
        av = _mm256_broadcast_ss(ap + 5);
        a10 = _mm256_fmadd_ps(av, b0, a10);
        a11 = _mm256_fmadd_ps(av, b1, a11);
    }
    add8(ct, a0, first);
    add8(ct + 8, a1, first);
    add8(ct + TN, a2, first);
    add8(ct + TN + 8, a3, first);
    add8(ct + 2 * TN, a4, first);
    add8(ct + 2 * TN + 8, a5, first);
    add8(ct + 3 * TN, a6, first);
    add8(ct + 3 * TN + 8, a7, first);
    add8(ct + 4 * TN, a8, first);
    add8(ct + 4 * TN + 8, a9, first);
    add8(ct + 5 * TN, a10, first);
    add8(ct + 5 * TN + 8, a11, first);
}

void mem_syrk_tile_avx2(int64_t n, const float *packed, int64_t i0, int64_t mt, int64_t jt,
                        int64_t ntl, double *ct) {
    for (int64_t b0 = 0; b0 < n; b0 += MEM_SYRK_BLOCK) {
        int64_t kc = min_i64(MEM_SYRK_BLOCK, n - b0);
        for (int64_t jr = 0; jr < ntl; jr += NR) {
            int64_t j = jt + jr;
            const float *bp = packed + mem_syrk_packed_index(n, b0, j);
            for (int64_t ir = 0; ir < mt && i0 + ir <= j + NR - 1; ir += MR)
                micro_6x16(kc, packed + mem_syrk_packed_index(n, b0, i0 + ir), bp, ct + ir * TN + jr,
                           b0 == 0);
        }
    }
}

#endif
