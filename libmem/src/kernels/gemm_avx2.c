/* AVX2/FMA single-precision GEMM (compiled with -mavx2 -mfma; called only after the CPU check).
 *
 * Blocking: the output is cut into tiles (up to MC x NC) that threads share out; within a tile,
 * k is walked in blocks of KC, and for each k block op(B) is packed into NR-column panels and
 * op(A) into MR-row panels, both zero-padded so the 6x16 micro-kernel never needs an edge case.
 *
 * Determinism: every element's accumulator starts at 0 and receives one _mm256_fmadd_ps per k in
 * increasing order (its lane of the micro-kernel), whether the element lies in a full or a padded
 * block. Between k blocks the accumulator is parked in a float scratch (store/reload is exact), and
 * alpha * acc + beta * C (separate mul/mul/add) is applied once, after the last k block. Tile
 * sizes may depend on the thread count; the per-element sequence does not. */
#include "gemm_internal.h"

#if MEM_GEMM_HAVE_AVX2

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define MR 6   /* micro-kernel rows: 12 ymm accumulators + 2 B + 1 A broadcast fit in 16 */
#define NR 16  /* micro-kernel columns: two ymm */
#ifndef KC
#define KC 256 /* k block: an A micro-panel (6 KB) and B micro-panel (16 KB) stay in L1 */
#endif
#ifndef MC
#define MC 96  /* tile rows: packed A block of 96 KB sits in L2 */
#endif
#ifndef NC
#define NC 256 /* tile columns: packed B block of 256 KB sits in L2 */
#endif

static inline int64_t min_i64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t round_up(int64_t x, int64_t r) { return (x + r - 1) / r * r; }

/* Element (i, p) of op(A) and (p, j) of op(B). */
static inline float op_a(int trans_a, const float *a, int64_t lda, int64_t i, int64_t p) {
    return trans_a ? a[p * lda + i] : a[i * lda + p];
}
static inline float op_b(int trans_b, const float *b, int64_t ldb, int64_t p, int64_t j) {
    return trans_b ? b[j * ldb + p] : b[p * ldb + j];
}

void mem_gemm_f32_fma_unpacked(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc) {
    /* fmaf is correctly rounded, exactly like one lane of _mm256_fmadd_ps. */
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++)
                acc = fmaf(op_a(trans_a, a, lda, i, p), op_b(trans_b, b, ldb, p, j), acc);
            float *cij = c + i * ldc + j;
            float t = alpha * acc;
            *cij = beta == 0.0f ? t : t + beta * *cij;
        }
    }
}

/* trans_a: op(A) rows [i0, i0+mc) x k range [p0, p0+kc) -> ceil(mc/MR) panels of kc x MR
 * (p-major), panel q at dst + q*kc (q a multiple of MR). A stored k x m has the mc values of one p
 * contiguous: read them in order (a strided walk per panel thrashes the cache when lda is a power
 * of two) and copy each MR group with one 8-wide load and store whose 2 extra lanes land on the
 * panel's next p slot, written afterwards. The last p, and groups whose 8-wide load could run past
 * A, are copied one by one. Rows past mc in the last panel stay unset: the kernel never reads them.
 * The untransposed A needs no packing: its rows are already contiguous in k. */
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

/* One output row of a micro-tile: C = alpha * acc + beta * C, the same vector ops for full and
 * partial rows (only the load/store differ). beta == 0 never reads C. */
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

/* 6x16 micro-kernel over one k block. first: start the accumulators at 0, else reload them from
 * `park`; last: write alpha * acc + beta * C to the mr x nr corner of c, else park them. */
static inline void micro_6x16(int64_t kc, const float *ap, int64_t rs, int64_t ks,
                              const float *restrict bp,
                              float *restrict park, int first, int last, float alpha, float beta,
                              float *c, int64_t ldc, int mr, int nr) {
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
    for (int64_t p = 0, q = 0; p < kc; p++, q += ks) {
        __m256 b0 = _mm256_load_ps(bp);
        __m256 b1 = _mm256_load_ps(bp + 8);
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
        bp += NR;
    }
    if (!last) {
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
        return;
    }
    __m256 va = _mm256_set1_ps(alpha);
    __m256 vb = _mm256_set1_ps(beta);
    int beta_zero = beta == 0.0f;
    int full = nr == NR;
    __m256i m0 = lane_mask(nr), m1 = lane_mask(nr - 8);
    /* Rows past mr are padding and are dropped. */
    store_row(c, c00, c01, va, vb, beta_zero, full, m0, m1);
    if (mr > 1) store_row(c + ldc, c10, c11, va, vb, beta_zero, full, m0, m1);
    if (mr > 2) store_row(c + 2 * ldc, c20, c21, va, vb, beta_zero, full, m0, m1);
    if (mr > 3) store_row(c + 3 * ldc, c30, c31, va, vb, beta_zero, full, m0, m1);
    if (mr > 4) store_row(c + 4 * ldc, c40, c41, va, vb, beta_zero, full, m0, m1);
    if (mr > 5) store_row(c + 5 * ldc, c50, c51, va, vb, beta_zero, full, m0, m1);
}

void mem_gemm_f32_avx2(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, int nt) {
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
    /* Packed A block, packed B block and (with several k blocks) the parked accumulators. */
    /* Lengths rounded to 16 floats keep every part 64-byte aligned for the aligned loads. */
    size_t a_len = trans_a ? (size_t)round_up(mc * kc_max, 16) : 0;
    size_t b_len = (size_t)round_up(nc * kc_max, 16);
    size_t park_len = single_kb ? 0 : (size_t)(mc * nc);
    size_t bytes = (a_len + b_len + park_len) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;

#pragma omp parallel num_threads(nt)
    {
        float *buf = aligned_alloc(64, bytes);
        float *pa = buf, *pb = buf ? buf + a_len : NULL;
        float *park = buf ? buf + a_len + b_len : NULL;
        int64_t packed_tj = -1; /* tile column whose B block is in pb (single k block only) */
#pragma omp for schedule(static)
        for (int64_t t = 0; t < n_tiles; t++) {
            /* Row tiles vary fastest, so a thread's consecutive tiles share their B block. */
            int64_t i0 = (t % n_ti) * mc, tj = t / n_ti, j0 = tj * nc;
            int64_t mcur = min_i64(mc, m - i0), ncur = min_i64(nc, n - j0);
            if (!buf) {
                mem_gemm_f32_fma_unpacked(trans_a, trans_b, mcur, ncur, k, alpha,
                                          trans_a ? a + i0 : a + i0 * lda, lda,
                                          trans_b ? b + j0 * ldb : b + j0, ldb, beta,
                                          c + i0 * ldc + j0, ldc);
                continue;
            }
            for (int64_t p0 = 0; p0 < k; p0 += KC) {
                int64_t kc = min_i64(KC, k - p0);
                int first = p0 == 0, last = p0 + kc == k;
                if (!single_kb || packed_tj != tj) {
                    pack_b(trans_b, b, ldb, p0, kc, j0, ncur, pb);
                    packed_tj = single_kb ? tj : -1;
                }
                if (trans_a) pack_a_t(a, lda, i0, mcur, p0, kc, pa);
                for (int64_t jr = 0; jr < ncur; jr += NR) {
                    for (int64_t ir = 0; ir < mcur; ir += MR) {
                        float *pk = park ? park + (ir * nc + jr * MR) : NULL;
                        /* Element (r, p) of the micro-panel is ap[r * rs + p * ks]. */
                        const float *ap = trans_a ? pa + ir * kc : a + (i0 + ir) * lda + p0;
                        int64_t rs = trans_a ? 1 : lda, ks = trans_a ? MR : 1;
                        micro_6x16(kc, ap, rs, ks, pb + jr * kc, pk, first, last, alpha, beta,
                                   c + (i0 + ir) * ldc + j0 + jr, ldc,
                                   (int)min_i64(MR, mcur - ir), (int)min_i64(NR, ncur - jr));
                    }
                }
            }
        }
        free(buf);
    }
}

#endif
