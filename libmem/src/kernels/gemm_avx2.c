/* AVX2/FMA single-precision GEMM (compiled with -mavx2 -mfma; called only after the CPU check).
 * Must be built with -ffp-contract=off: GCC treats the _mm256_mul_ps/_mm256_add_ps of the
 * alpha/beta step as plain vector arithmetic and would otherwise fuse them.
 *
 * Blocking: the output is cut into tiles (up to MC x NC) that threads share out; within a tile, k
 * is walked in blocks of KC. A 6x16 micro-kernel broadcasts op(A) and loads 16-wide rows of op(B):
 * - op(A) rows contiguous in k (A untransposed) are read in place; a transposed A is packed per k
 *   block into 6-row panels;
 * - op(B) is packed per k block into zero-padded 16-column panels, except where a tile has at most
 *   two micro-rows (the panel would be used once or twice: reading B in place is cheaper).
 * Micro-rows past the matrix edge alias row 0 and are dropped; padded columns are masked.
 * For a transposed A with few columns of C (the weight gradient dP^T X) the product is computed
 * as C^T = op(B)^T A, which reads both operands in their stored orientation.
 *
 * Determinism: every element's accumulator starts at 0 and receives one fma(a_ip, b_pj, acc) per
 * k in increasing order (one lane of _mm256_fmadd_ps; the product is symmetric, so the swapped
 * orientation gives the same bits), whatever the block or tile. Between k blocks the accumulator
 * is parked in a float scratch (store/reload is exact); t = alpha * acc, then C = t + beta * C
 * (separate roundings, vector or scalar alike) once after the last k block. Tile sizes may depend
 * on the thread count; the per-element sequence does not. */
#include "gemm_internal.h"

#if MEM_GEMM_HAVE_AVX2

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define MR 6   /* micro-kernel rows: 12 ymm accumulators + 2 B + 1 A broadcast fit in 16 */
#define NR 16  /* micro-kernel columns: two ymm */
#define KC 256 /* k block: an A micro-panel (6 KB) and B micro-panel (16 KB) stay in L1 */
#define MC 96  /* tile rows: the A block (96 KB) stays in L2 */
#define NC 256 /* tile columns: the packed B block (256 KB) stays in L2 */

static inline int64_t min_i64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t round_up(int64_t x, int64_t r) { return (x + r - 1) / r * r; }

/* C = alpha * op(A) op(B) + beta * C with fmaf; C element (i, j) at c[i * crs + j * ccs]. */
static void gemm_unpacked(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                          const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                          float *c, int64_t crs, int64_t ccs) {
    /* fmaf is correctly rounded, exactly like one lane of _mm256_fmadd_ps. */
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float av = trans_a ? a[p * lda + i] : a[i * lda + p];
                float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc = fmaf(av, bv, acc);
            }
            float *cij = c + i * crs + j * ccs;
            float t = alpha * acc;
            *cij = beta == 0.0f ? t : t + beta * *cij;
        }
    }
}

void mem_gemm_f32_fma_unpacked(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc) {
    gemm_unpacked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1);
}

/* trans_a: op(A) rows [i0, i0+mc) x k range [p0, p0+kc) -> ceil(mc/MR) panels of kc x MR
 * (p-major), panel q at dst + q*kc (q a multiple of MR). A stored k x m has the mc values of one p
 * contiguous: read them in order (a strided walk per panel thrashes the cache when lda is a power
 * of two) and copy each MR group with one 8-wide load and store whose 2 extra lanes land on the
 * panel's next p slot, written afterwards. The last p, and groups whose 8-wide load could run past
 * A, are copied one by one. Rows past mc in the last panel stay unset: the kernel never reads them. */
static void pack_a_t(const float *a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                     float *restrict dst) {
    int64_t q_vec = mc >= 8 ? (mc - 8) / MR * MR + MR : 0; /* groups [0, q_vec) may load 8 */
    for (int64_t p = 0; p < kc; p++) {
        const float *s = a + (p0 + p) * lda + i0;
        float *d = dst + p * MR;
        int64_t q = 0;
        if (p + 1 < kc)
            for (; q < q_vec; q += MR) _mm256_storeu_ps(d + q * kc, _mm256_loadu_ps(s + q));
        for (; q < mc; q += MR) {
            int64_t rows = min_i64(MR, mc - q);
            for (int64_t r = 0; r < rows; r++) d[q * kc + r] = s[q + r];
        }
    }
}

/* op(B) k range [p0, p0+kc) x columns [j0, j0+nc) -> ceil(nc/NR) panels of kc x NR (p-major),
 * panel t at dst + t*NR*kc; columns past nc are zero. */
static void pack_b(int trans_b, const float *b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
                   int64_t nc, float *restrict dst) {
    for (int64_t jt = 0; jt < nc; jt += NR) {
        int cols = (int)min_i64(NR, nc - jt);
        float *d = dst + jt * kc;
        if (!trans_b) {
            const float *s = b + p0 * ldb + j0 + jt;
            if (cols == NR) {
                for (int64_t p = 0; p < kc; p++, s += ldb, d += NR) {
                    _mm256_store_ps(d, _mm256_loadu_ps(s));
                    _mm256_store_ps(d + 8, _mm256_loadu_ps(s + 8));
                }
            } else {
                for (int64_t p = 0; p < kc; p++, s += ldb, d += NR) {
                    int c = 0;
                    for (; c < cols; c++) d[c] = s[c];
                    for (; c < NR; c++) d[c] = 0.0f;
                }
            }
        } else {
            /* B stored n x k: read each column's k run contiguously, scatter into the panel. */
            for (int c = 0; c < NR; c++) {
                if (c < cols) {
                    const float *s = b + (j0 + jt + c) * ldb + p0;
                    for (int64_t p = 0; p < kc; p++) d[p * NR + c] = s[p];
                } else {
                    for (int64_t p = 0; p < kc; p++) d[p * NR + c] = 0.0f;
                }
            }
        }
    }
}

static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Lanes [0, cnt) set, cnt clamped to [0, 8]. */
static inline __m256i lane_mask(int64_t cnt) {
    cnt = cnt < 0 ? 0 : (cnt > 8 ? 8 : cnt);
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - cnt));
}

/* One output row of a micro-tile with contiguous columns: C = alpha * acc + beta * C, the same
 * vector ops for full and partial rows (only the load/store differ). beta == 0 never reads C. */
static inline void store_row(float *c, __m256 v0, __m256 v1, __m256 va, __m256 vb, int beta_zero,
                             int full, __m256i m0, __m256i m1) {
    __m256 t0 = _mm256_mul_ps(va, v0);
    __m256 t1 = _mm256_mul_ps(va, v1);
    if (full) {
        if (!beta_zero) {
            t0 = _mm256_add_ps(t0, _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
            t1 = _mm256_add_ps(t1, _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8)));
        }
        _mm256_storeu_ps(c, t0);
        _mm256_storeu_ps(c + 8, t1);
    } else {
        if (!beta_zero) {
            t0 = _mm256_add_ps(t0, _mm256_mul_ps(vb, _mm256_maskload_ps(c, m0)));
            t1 = _mm256_add_ps(t1, _mm256_mul_ps(vb, _mm256_maskload_ps(c + 8, m1)));
        }
        _mm256_maskstore_ps(c, m0, t0);
        _mm256_maskstore_ps(c + 8, m1, t1);
    }
}

/* Where a micro-kernel's operands and output live. Element (r, p) of the A micro-panel is
 * a[r * rs + p * ks]; row p of the B micro-panel is b + p * bs (16 floats). Output element (r, j)
 * is c[r * crs + j * ccs]; only the mr x nr corner is written. */
typedef struct {
    const float *a;
    int64_t rs, ks;
    const float *b;
    int64_t bs;
    float *c;
    int64_t crs, ccs;
    int mr, nr;
} micro_args;

/* 6x16 micro-kernel over one k block. first: start the accumulators at 0, else reload them from
 * `park`; last: write alpha * acc + beta * C, else park them. */
static inline void micro_6x16(int64_t kc, const micro_args *g, float *restrict park, int first,
                              int last, float alpha, float beta) {
    const float *ap = g->a, *bp = g->b;
    int64_t rs = g->rs, ks = g->ks, bs = g->bs;
    int mr = g->mr;
    /* Rows past mr read row 0 again (always valid memory); their results are dropped. */
    const float *a0 = ap, *a1 = mr > 1 ? ap + rs : ap, *a2 = mr > 2 ? ap + 2 * rs : ap;
    const float *a3 = mr > 3 ? ap + 3 * rs : ap, *a4 = mr > 4 ? ap + 4 * rs : ap;
    const float *a5 = mr > 5 ? ap + 5 * rs : ap;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (first) {
        c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
        c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    } else {
        c00 = _mm256_load_ps(park + 0);
        c01 = _mm256_load_ps(park + 8);
        c10 = _mm256_load_ps(park + 16);
        c11 = _mm256_load_ps(park + 24);
        c20 = _mm256_load_ps(park + 32);
        c21 = _mm256_load_ps(park + 40);
        c30 = _mm256_load_ps(park + 48);
        c31 = _mm256_load_ps(park + 56);
        c40 = _mm256_load_ps(park + 64);
        c41 = _mm256_load_ps(park + 72);
        c50 = _mm256_load_ps(park + 80);
        c51 = _mm256_load_ps(park + 88);
    }
    for (int64_t p = 0, q = 0; p < kc; p++, q += ks, bp += bs) {
        __m256 b0 = _mm256_loadu_ps(bp);
        __m256 b1 = _mm256_loadu_ps(bp + 8);
        __m256 av = _mm256_broadcast_ss(a0 + q);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a1 + q);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a2 + q);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a3 + q);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a4 + q);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a5 + q);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
    }
    if (!last || g->ccs != 1) {
        _mm256_store_ps(park + 0, c00);
        _mm256_store_ps(park + 8, c01);
        _mm256_store_ps(park + 16, c10);
        _mm256_store_ps(park + 24, c11);
        _mm256_store_ps(park + 32, c20);
        _mm256_store_ps(park + 40, c21);
        _mm256_store_ps(park + 48, c30);
        _mm256_store_ps(park + 56, c31);
        _mm256_store_ps(park + 64, c40);
        _mm256_store_ps(park + 72, c41);
        _mm256_store_ps(park + 80, c50);
        _mm256_store_ps(park + 88, c51);
        if (!last) return;
        /* Transposed output (C^T orientation): the same two roundings per element, in scalar. */
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < g->nr; j++) {
                float *cp = g->c + r * g->crs + j * g->ccs;
                float t = alpha * park[r * NR + j];
                *cp = beta == 0.0f ? t : t + beta * *cp;
            }
        return;
    }
    __m256 va = _mm256_set1_ps(alpha);
    __m256 vb = _mm256_set1_ps(beta);
    int beta_zero = beta == 0.0f;
    int full = g->nr == NR;
    __m256i m0 = lane_mask(g->nr), m1 = lane_mask(g->nr - 8);
    float *c = g->c;
    int64_t ldc = g->crs;
    store_row(c, c00, c01, va, vb, beta_zero, full, m0, m1);
    if (mr > 1) store_row(c + ldc, c10, c11, va, vb, beta_zero, full, m0, m1);
    if (mr > 2) store_row(c + 2 * ldc, c20, c21, va, vb, beta_zero, full, m0, m1);
    if (mr > 3) store_row(c + 3 * ldc, c30, c31, va, vb, beta_zero, full, m0, m1);
    if (mr > 4) store_row(c + 4 * ldc, c40, c41, va, vb, beta_zero, full, m0, m1);
    if (mr > 5) store_row(c + 5 * ldc, c50, c51, va, vb, beta_zero, full, m0, m1);
}

/* The blocked product; C element (i, j) at c[i * crs + j * ccs] (ccs == 1, or crs == 1 for the
 * swapped orientation). */
static void gemm_blocked(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                         float *c, int64_t crs, int64_t ccs, int nt) {
    int64_t mc = min_i64(MC, round_up(m, MR));
    int64_t nc = min_i64(NC, round_up(n, NR));
    /* Give every thread at least one tile where the shape allows (small M and N, large K). */
    while ((m + mc - 1) / mc * ((n + nc - 1) / nc) < nt) {
        if (mc > MR) mc = round_up(mc / 2, MR);
        else if (nc > NR) nc = round_up(nc / 2, NR);
        else break;
    }
    int64_t n_ti = (m + mc - 1) / mc, n_tj = (n + nc - 1) / nc;
    int64_t n_tiles = n_ti * n_tj;
    int64_t kc_max = min_i64(k, KC);
    int single_kb = k <= KC;
    /* Packed A block, packed B block, parked accumulators (several k blocks or transposed C);
     * lengths rounded to 16 floats keep every part 64-byte aligned. */
    size_t a_len = trans_a ? (size_t)round_up(mc * kc_max, 16) : 0;
    size_t b_len = (size_t)round_up(nc * kc_max, 16);
    size_t park_len = single_kb && ccs == 1 ? 0 : (size_t)(mc * nc);
    size_t bytes = (a_len + b_len + park_len) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;

#pragma omp parallel num_threads(nt)
    {
        float *buf = aligned_alloc(64, bytes);
        float *pa = buf, *pb = buf ? buf + a_len : NULL;
        float *park = buf ? buf + a_len + b_len : NULL;
        /* With a single k block, pb keeps tile column packed_tj's panels from column packed_from
         * on, for the next tile of the same column. */
        int64_t packed_tj = -1, packed_from = 0;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < n_tiles; t++) {
            /* Row tiles vary fastest, so a thread's consecutive tiles share their B block. */
            int64_t i0 = (t % n_ti) * mc, tj = t / n_ti, j0 = tj * nc;
            int64_t mcur = min_i64(mc, m - i0), ncur = min_i64(nc, n - j0);
            float *ct = c + i0 * crs + j0 * ccs;
            if (!buf) {
                gemm_unpacked(trans_a, trans_b, mcur, ncur, k, alpha,
                              trans_a ? a + i0 : a + i0 * lda, lda,
                              trans_b ? b + j0 * ldb : b + j0, ldb, beta, ct, crs, ccs);
                continue;
            }
            /* B read in place: untransposed, and each panel used by at most two micro-rows. */
            int direct_b = !trans_b && mcur <= 2 * MR;
            int64_t n_full = direct_b ? ncur / NR * NR : 0; /* columns read in place */
            for (int64_t p0 = 0; p0 < k; p0 += KC) {
                int64_t kc = min_i64(KC, k - p0);
                int first = p0 == 0, last = p0 + kc == k;
                if (n_full < ncur &&
                    (!single_kb || packed_tj != tj || packed_from > n_full)) {
                    /* Only the edge panel when reading B in place. */
                    pack_b(trans_b, b, ldb, p0, kc, j0 + n_full, ncur - n_full, pb + n_full * kc);
                    packed_tj = single_kb ? tj : -1;
                    packed_from = n_full;
                }
                if (trans_a) pack_a_t(a, lda, i0, mcur, p0, kc, pa);
                for (int64_t jr = 0; jr < ncur; jr += NR) {
                    micro_args g;
                    if (jr < n_full) {
                        g.b = b + p0 * ldb + j0 + jr;
                        g.bs = ldb;
                    } else {
                        g.b = pb + jr * kc;
                        g.bs = NR;
                    }
                    g.nr = (int)min_i64(NR, ncur - jr);
                    g.rs = trans_a ? 1 : lda;
                    g.ks = trans_a ? MR : 1;
                    g.ccs = ccs;
                    g.crs = crs;
                    for (int64_t ir = 0; ir < mcur; ir += MR) {
                        g.a = trans_a ? pa + ir * kc : a + (i0 + ir) * lda + p0;
                        g.c = ct + ir * crs + jr * ccs;
                        g.mr = (int)min_i64(MR, mcur - ir);
                        float *pk = park ? park + (ir * nc + jr * MR) : NULL;
                        micro_6x16(kc, &g, pk, first, last, alpha, beta);
                    }
                }
            }
        }
        free(buf);
    }
}

void mem_gemm_f32_avx2(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, int nt) {
    /* A transposed A (stored k x m) is contiguous along m: as the "B" of C^T = op(B)^T op(A)^T it
     * is read in rows instead of being packed, and a transposed B becomes an in-place "A". Worth
     * it when C has fewer columns than rows (weight gradients) or B is transposed too, and k is
     * long enough to pay for the scalar transposed store of C. */
    if (trans_a && (trans_b || n < m) && k >= 16) {
        gemm_blocked(!trans_b, 0, n, m, k, alpha, b, ldb, a, lda, beta, c, 1, ldc, nt);
        return;
    }
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1, nt);
}

#endif
