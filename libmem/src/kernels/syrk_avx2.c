/* AVX2/FMA tile of the syrk kernel (compiled with -mavx2 -mfma -ffp-contract=off; called only
 * after the run-time CPU check; the tile loop is in syrk.c).
 *
 * A tile's float64 sums live in a private, contiguous buffer while the row blocks go by (C itself
 * often has a power-of-two row stride, whose rows would fight over the same cache sets). For each
 * block, the 4x24 micro-kernel keeps its 12 accumulators in registers from 0 to the block's end,
 * then adds them to the tile in float64. Its operands are read in place from the packed layout:
 * 4 columns (broadcast) and one whole 24-column group (three vectors, contiguous from row to row).
 * Vectors of a micro-tile wholly below the diagonal or past the tile's last column are not
 * computed: the 4x16 and 4x8 variants take the rest, and where a single vector is left, two 4-row
 * strips go together through the 8x8 variant (four accumulators alone would leave half the FMA
 * throughput idle, their chains being as long as the FMA latency). */
#include "gemm_internal.h"

#if MEM_GEMM_HAVE_AVX2

#include <immintrin.h>
#include <stdlib.h>

#include "syrk.h"

#define MR 4   /* micro-tile rows (broadcast operand) */
#define NV 3   /* micro-tile columns: NV vectors of 8 */
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

/* The 4 x (8 nv) micro-tile over kc rows: ap and bp point at the block's first row of the operands
 * (4 broadcast columns, nv vectors of 8 columns); the sums go to ct (row stride TN, 64-byte aligned
 * rows). Instantiated below for nv = 3, 2, 1 (a constant nv keeps the accumulators in registers). */
static inline __attribute__((always_inline)) void micro_4xv(const int nv, int64_t kc, const float *restrict ap,
                                                           const float *restrict bp, double *ct, int first) {
    __m256 acc[MR][NV];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) acc[r][v] = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++, ap += G, bp += G) {
        __m256 b[NV];
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) b[v] = _mm256_loadu_ps(bp + 8 * v);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            __m256 av = _mm256_broadcast_ss(ap + r);
#pragma GCC unroll 3
            for (int v = 0; v < nv; v++) acc[r][v] = _mm256_fmadd_ps(av, b[v], acc[r][v]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) add8(ct + r * TN + 8 * v, acc[r][v], first);
}

static void micro_4x24(int64_t kc, const float *ap, const float *bp, double *ct, int first) {
    micro_4xv(3, kc, ap, bp, ct, first);
}

static void micro_4x16(int64_t kc, const float *ap, const float *bp, double *ct, int first) {
    micro_4xv(2, kc, ap, bp, ct, first);
}

static void micro_4x8(int64_t kc, const float *ap, const float *bp, double *ct, int first) {
    micro_4xv(1, kc, ap, bp, ct, first);
}

/* 8 rows x 8 columns: the rows of two 4-row strips, a0p and a1p (possibly in different groups). */
static void micro_8x8(int64_t kc, const float *restrict a0p, const float *restrict a1p,
                      const float *restrict bp, double *ct, int first) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++, a0p += G, a1p += G, bp += G) {
        __m256 b = _mm256_loadu_ps(bp);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0p), b, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0p + 1), b, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0p + 2), b, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0p + 3), b, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1p), b, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1p + 1), b, c5);
        c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1p + 2), b, c6);
        c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1p + 3), b, c7);
    }
    add8(ct, c0, first);
    add8(ct + TN, c1, first);
    add8(ct + 2 * TN, c2, first);
    add8(ct + 3 * TN, c3, first);
    add8(ct + 4 * TN, c4, first);
    add8(ct + 5 * TN, c5, first);
    add8(ct + 6 * TN, c6, first);
    add8(ct + 7 * TN, c7, first);
}

void mem_syrk_tile_avx2(int64_t n, const float *packed, int64_t i0, int64_t mt, int64_t jt,
                        int64_t ntl, double *ct) {
    for (int64_t b0 = 0; b0 < n; b0 += MEM_SYRK_BLOCK) {
        int64_t kc = min_i64(MEM_SYRK_BLOCK, n - b0);
        int first = b0 == 0;
        for (int64_t jr = 0; jr < ntl; jr += 8 * NV) {
            int64_t j = jt + jr;
            /* vectors [v0, v1) of the micro-tile are computed: v1 stops at the tile's last column */
            int64_t v1 = min_i64(NV, (ntl - jr + 7) / 8);
            const float *bp = packed + mem_syrk_packed_index(n, b0, j);
            for (int64_t ir = 0; ir < mt && i0 + ir <= j + 8 * v1 - 1; ir += MR) {
                const float *ap = packed + mem_syrk_packed_index(n, b0, i0 + ir);
                double *c = ct + ir * TN + jr;
                /* v0 skips the vectors whose last column is below the strip's first row */
                int64_t below = i0 + ir - j, v0 = below > 0 ? below / 8 : 0;
                if (v1 - v0 == 3) {
                    micro_4x24(kc, ap, bp, c, first);
                } else if (v1 - v0 == 2) {
                    micro_4x16(kc, ap, bp + 8 * v0, c + 8 * v0, first);
                } else if (ir + MR < mt && (below + MR) / 8 <= v0) {
                    /* the next strip needs the same single vector (its rows exist: the packed
                     * layout's columns reach the next multiple of 4 past i0 + mt) */
                    micro_8x8(kc, ap, packed + mem_syrk_packed_index(n, b0, i0 + ir + MR), bp + 8 * v0,
                              c + 8 * v0, first);
                    ir += MR;
                } else {
                    micro_4x8(kc, ap, bp + 8 * v0, c + 8 * v0, first);
                }
            }
        }
    }
}

#endif
