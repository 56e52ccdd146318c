/* AVX2/FMA single-precision GEMM (compiled with -mavx2 -mfma; called only after the CPU check).
 * Must be built with -ffp-contract=off: GCC treats the _mm256_mul_ps/_mm256_add_ps of the
 * alpha/beta step as plain vector arithmetic and would otherwise fuse them.
 *
 * Blocking: the output is cut into tiles (up to MC x NC) that threads share out; within a tile, k
 * is walked in blocks of KC. A 6x16 micro-kernel broadcasts op(A) and loads 16-wide rows of op(B):
 * - op(A) rows contiguous in k (A untransposed) are read in place; a transposed A is packed per k
 *   block into 6-row panels;
 * - op(B) is packed per k block into zero-padded 16-column panels (a tile column's panels for all
 *   of k are kept, up to B_KEEP_MAX, for the thread's next tile down the column), except for
 *   tiles of at most 12 rows (6x16 kernel up to 6 rows, a 12x8 kernel for 7..12), which use each
 *   element of an untransposed B once and read it in place, in shorter k blocks (KC_DIRECT).
 * One thread runs the tiles without opening an OpenMP region (see gemm_blocked).
 * Rows past the matrix edge alias row 0 or are zero, and are dropped; padded columns are masked.
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

#include "core/threads.h"

#define MR 6   /* micro-kernel rows: 12 ymm accumulators + 2 B + 1 A broadcast fit in 16 */
#define NR 16  /* micro-kernel columns: two ymm */
#define KC 256 /* k block: an A micro-panel (6 KB) and B micro-panel (16 KB) stay in L1 */
#define MC 96  /* tile rows: the A block (96 KB) stays in L2 */
#define NC 256 /* tile columns: the packed B block (256 KB) stays in L2 */
#define B_KEEP_MAX (1 << 20) /* floats of packed B kept per thread across k blocks (4 MB) */
/* k block when B is read in place: short, so that the sweep over B goes nearly row by row and a
 * block's B rows stay in cache for the two 12x8 kernels sharing each line, even when ldb is a
 * power of two; long enough to amortise parking the accumulators. */
#define KC_DIRECT 64

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
 * A, are copied one by one. Rows past mc in the last panel are zero. */
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
            int64_t rows = min_i64(MR, mc - q), r = 0;
            for (; r < rows; r++) d[q * kc + r] = s[q + r];
            for (; r < MR; r++) d[q * kc + r] = 0.0f;
        }
    }
}

/* Untransposed A, same panel layout (used for the 12x8 kernel, which reads whole panels). */
static void pack_a_n(const float *a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                     float *restrict dst) {
    for (int64_t r = 0; r < round_up(mc, MR); r++) {
        float *d = dst + r / MR * MR * kc + r % MR;
        if (r < mc) {
            const float *s = a + (i0 + r) * lda + p0;
            for (int64_t p = 0; p < kc; p++) d[p * MR] = s[p];
        } else {
            for (int64_t p = 0; p < kc; p++) d[p * MR] = 0.0f;
        }
    }
}

/* dst[p * ldd + c] = src[c * lds + p] for c, p < 8: an 8 x 8 block transposed in registers. */
static inline void transpose8_store(const float *src, int64_t lds, float *dst, int64_t ldd) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
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
        } else if (cols == NR) {
            /* B stored n x k: the 16 columns' k runs, transposed 8 x 8 at a time into the panel's
             * rows (a scalar scatter cost as much as a small product's arithmetic). */
            const float *s = b + (j0 + jt) * ldb + p0;
            int64_t p = 0;
            for (; p + 8 <= kc; p += 8) {
                transpose8_store(s + p, ldb, d + p * NR, NR);
                transpose8_store(s + 8 * ldb + p, ldb, d + p * NR + 8, NR);
            }
            for (; p < kc; p++)
                for (int c = 0; c < NR; c++) d[p * NR + c] = s[c * ldb + p];
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

/* 8 contiguous outputs: C = alpha * acc + beta * C; the same vector ops for full and partial
 * groups (only the load/store differ). beta == 0 never reads C. */
static inline void store8(float *c, __m256 v, __m256 va, __m256 vb, int beta_zero, int full,
                          __m256i mask) {
    __m256 t = _mm256_mul_ps(va, v);
    if (full) {
        if (!beta_zero) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c, t);
    } else {
        if (!beta_zero) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_maskload_ps(c, mask)));
        _mm256_maskstore_ps(c, mask, t);
    }
}

/* The transposed-output case (C^T orientation): the accumulators, parked with row stride ld,
 * go out one by one with the same two roundings as store8. */
static void store_strided(const float *park, int64_t ld, int mr, int nr, float *c, int64_t crs,
                          int64_t ccs, float alpha, float beta) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float *cp = c + r * crs + j * ccs;
            float t = alpha * park[r * ld + j];
            *cp = beta == 0.0f ? t : t + beta * *cp;
        }
}

/* Where a micro-kernel's operands and output live. Element (r, p) of op(A) is a[r * rs + p * ks]
 * (for the 12x8 kernel: packed panels, rows 6..11 at a + 6 * kc); row p of the op(B) panel starts
 * at b + p * bs. Output element (r, j) is c[r * crs + j * ccs]; only the mr x nr corner is written.
 * park: the accumulators between k blocks (and for the strided store). */
typedef struct {
    const float *a;
    int64_t rs, ks;
    const float *b;
    int64_t bs;
    float *c;
    int64_t crs, ccs;
    int mr, nr;
    float *park;
} micro_args;

#define PARK12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* 6x16 micro-kernel over one k block. first: start the accumulators at 0, else reload them from
 * park; last: write alpha * acc + beta * C, else park them. */
static inline void micro_6x16(int64_t kc, const micro_args *g, int first, int last, float alpha,
                              float beta) {
    const float *ap = g->a, *bp = g->b;
    int64_t rs = g->rs, ks = g->ks, bs = g->bs;
    int mr = g->mr;
    float *park = g->park;
    /* Rows past mr read row 0 again (always valid memory); their results are dropped. */
    const float *a0 = ap, *a1 = mr > 1 ? ap + rs : ap, *a2 = mr > 2 ? ap + 2 * rs : ap;
    const float *a3 = mr > 3 ? ap + 3 * rs : ap, *a4 = mr > 4 ? ap + 4 * rs : ap;
    const float *a5 = mr > 5 ? ap + 5 * rs : ap;
    /* acc_r = columns 0..7 of row r/2 for even r, 8..15 for odd r (park order). */
    __m256 acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11;
#define ZERO_ACC(i) acc##i = _mm256_setzero_ps();
#define LOAD_ACC(i) acc##i = _mm256_load_ps(park + 8 * (i));
#define STORE_ACC(i) _mm256_store_ps(park + 8 * (i), acc##i);
    if (first) {
        PARK12(ZERO_ACC)
    } else {
        PARK12(LOAD_ACC)
    }
    /* A panel of at most 4 (2) rows runs only the rows it has: a 32-row product is 5 full panels
     * and one of 2 rows, which the full loop would compute as 6. Each element's sequence is the same. */
#define ROW_FMA(ar, lo, hi)                 \
    av = _mm256_broadcast_ss((ar) + q);     \
    lo = _mm256_fmadd_ps(av, b0, lo);       \
    hi = _mm256_fmadd_ps(av, b1, hi);
#define K_LOOP(rows)                                                            \
    for (int64_t p = 0, q = 0; p < kc; p++, q += ks, bp += bs) {                \
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), av;      \
        rows                                                                    \
    }
    if (mr > 4) {
        K_LOOP(ROW_FMA(a0, acc0, acc1) ROW_FMA(a1, acc2, acc3) ROW_FMA(a2, acc4, acc5)
                   ROW_FMA(a3, acc6, acc7) ROW_FMA(a4, acc8, acc9) ROW_FMA(a5, acc10, acc11))
    } else if (mr > 2) {
        K_LOOP(ROW_FMA(a0, acc0, acc1) ROW_FMA(a1, acc2, acc3) ROW_FMA(a2, acc4, acc5)
                   ROW_FMA(a3, acc6, acc7))
    } else {
        K_LOOP(ROW_FMA(a0, acc0, acc1) ROW_FMA(a1, acc2, acc3))
    }
#undef K_LOOP
#undef ROW_FMA
    if (!last || g->ccs != 1) {
        PARK12(STORE_ACC)
        if (last) store_strided(park, NR, mr, g->nr, g->c, g->crs, g->ccs, alpha, beta);
        return;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    int bz = beta == 0.0f, f0 = g->nr >= 8, f1 = g->nr == NR;
    __m256i m0 = lane_mask(g->nr), m1 = lane_mask(g->nr - 8);
    float *c = g->c;
    int64_t ldc = g->crs;
    /* Two store8 per row: columns 0..7 and 8..15. */
#define ROW16(r, lo, hi)                                         \
    if (mr > (r)) {                                              \
        store8(c + (r) * ldc, lo, va, vb, bz, f0, m0);           \
        store8(c + (r) * ldc + 8, hi, va, vb, bz, f1, m1);       \
    }
    ROW16(0, acc0, acc1)
    ROW16(1, acc2, acc3)
    ROW16(2, acc4, acc5)
    ROW16(3, acc6, acc7)
    ROW16(4, acc8, acc9)
    ROW16(5, acc10, acc11)
#undef ROW16
}

/* 12x8 micro-kernel for tiles of 7..12 rows: one pass over each B row instead of two. op(A) is in
 * two packed 6-row panels (zero-padded), so g->rs/ks are unused. */
static inline void micro_12x8(int64_t kc, const micro_args *g, int first, int last, float alpha,
                              float beta) {
    const float *a0 = g->a, *a1 = g->a + MR * kc, *bp = g->b;
    int64_t bs = g->bs;
    float *park = g->park;
    __m256 acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11;
    if (first) {
        PARK12(ZERO_ACC)
    } else {
        PARK12(LOAD_ACC)
    }
    /* 7 or 8 rows run 8 of the 12 (as in micro_6x16: the same sequence per element). */
#define ROW_FMA(acc, ap) acc = _mm256_fmadd_ps(_mm256_broadcast_ss(ap), b0, acc);
#define K_LOOP(rows)                                                        \
    for (int64_t p = 0; p < kc; p++, a0 += MR, a1 += MR, bp += bs) {        \
        __m256 b0 = _mm256_loadu_ps(bp);                                    \
        ROW_FMA(acc0, a0) ROW_FMA(acc1, a0 + 1) ROW_FMA(acc2, a0 + 2)       \
        ROW_FMA(acc3, a0 + 3) ROW_FMA(acc4, a0 + 4) ROW_FMA(acc5, a0 + 5)   \
        ROW_FMA(acc6, a1) ROW_FMA(acc7, a1 + 1)                             \
        rows                                                                \
    }
    if (g->mr > 8) {
        K_LOOP(ROW_FMA(acc8, a1 + 2) ROW_FMA(acc9, a1 + 3) ROW_FMA(acc10, a1 + 4) ROW_FMA(acc11, a1 + 5))
    } else {
        K_LOOP()
    }
#undef K_LOOP
#undef ROW_FMA
    if (!last || g->ccs != 1) {
        PARK12(STORE_ACC)
        if (last) store_strided(park, 8, g->mr, g->nr, g->c, g->crs, g->ccs, alpha, beta);
        return;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    int bz = beta == 0.0f, f = g->nr == 8, mr = g->mr;
    __m256i mk = lane_mask(g->nr);
    float *c = g->c;
    int64_t ldc = g->crs;
    /* mr is 7..12 here. */
    store8(c, acc0, va, vb, bz, f, mk);
    store8(c + ldc, acc1, va, vb, bz, f, mk);
    store8(c + 2 * ldc, acc2, va, vb, bz, f, mk);
    store8(c + 3 * ldc, acc3, va, vb, bz, f, mk);
    store8(c + 4 * ldc, acc4, va, vb, bz, f, mk);
    store8(c + 5 * ldc, acc5, va, vb, bz, f, mk);
    c += 6 * ldc;
    store8(c, acc6, va, vb, bz, f, mk);
    if (mr > 7) store8(c + ldc, acc7, va, vb, bz, f, mk);
    if (mr > 8) store8(c + 2 * ldc, acc8, va, vb, bz, f, mk);
    if (mr > 9) store8(c + 3 * ldc, acc9, va, vb, bz, f, mk);
    if (mr > 10) store8(c + 4 * ldc, acc10, va, vb, bz, f, mk);
    if (mr > 11) store8(c + 5 * ldc, acc11, va, vb, bz, f, mk);
}
#undef ZERO_ACC
#undef LOAD_ACC
#undef STORE_ACC
#undef PARK12

/* The whole product's operands; nc is the tile width (the park row stride). */
typedef struct {
    int trans_a, trans_b;
    const float *a, *b;
    int64_t lda, ldb, crs, ccs, nc;
    float alpha, beta;
} gemm_ctx;

/* One k block of one tile (mcur x ncur at row i0, column j0; c points at its corner): pack what
 * needs packing, then run the micro-kernels. op(B) columns [0, n_direct) of the tile are read in
 * place; the rest come packed in pb, already there from the previous tile unless pack_b_now. */
static void tile_k_block(const gemm_ctx *x, int64_t i0, int64_t mcur, int64_t j0, int64_t ncur,
                         int64_t p0, int64_t kc, int first, int last, float *c, float *pa,
                         float *pb, float *park, int64_t n_direct, int pack_b_now) {
    /* Tiles of up to 12 rows use each B element once: 6x16 for <= 6 rows, else 12x8. */
    int narrow = mcur > MR && mcur <= 2 * MR;
    int64_t step = narrow ? 8 : NR;
    if (pack_b_now && n_direct < ncur)
        pack_b(x->trans_b, x->b, x->ldb, p0, kc, j0 + n_direct, ncur - n_direct,
               pb + n_direct * kc);
    if (x->trans_a) pack_a_t(x->a, x->lda, i0, mcur, p0, kc, pa);
    else if (narrow) pack_a_n(x->a, x->lda, i0, mcur, p0, kc, pa);
    micro_args g;
    g.crs = x->crs;
    g.ccs = x->ccs;
    g.rs = x->trans_a ? 1 : x->lda;
    g.ks = x->trans_a ? MR : 1;
    for (int64_t jr = 0; jr < ncur; jr += step) {
        if (jr < n_direct) {
            g.b = x->b + p0 * x->ldb + j0 + jr;
            g.bs = x->ldb;
        } else {
            /* Packed panels are NR wide; the 12x8 kernel reads them half by half. */
            int64_t rel = jr - n_direct;
            g.b = pb + n_direct * kc + rel / NR * NR * kc + rel % NR;
            g.bs = NR;
        }
        g.nr = (int)min_i64(step, ncur - jr);
        if (narrow) {
            g.a = pa;
            g.c = c + jr * x->ccs;
            g.mr = (int)mcur;
            g.park = park ? park + jr * 2 * MR : NULL;
            micro_12x8(kc, &g, first, last, x->alpha, x->beta);
            continue;
        }
        for (int64_t ir = 0; ir < mcur; ir += MR) {
            g.a = x->trans_a ? pa + ir * kc : x->a + (i0 + ir) * x->lda + p0;
            g.c = c + ir * x->crs + jr * x->ccs;
            g.mr = (int)min_i64(MR, mcur - ir);
            g.park = park ? park + ir * x->nc + jr * MR : NULL;
            micro_6x16(kc, &g, first, last, x->alpha, x->beta);
        }
    }
}

/* The blocked product's plan: tiles (mc x nc, n_ti of them down the rows) and one thread's work
 * memory (packed A, packed B, parked accumulators; lengths rounded to 16 floats keep every part
 * 64-byte aligned). */
typedef struct {
    int64_t m, n, k, mc, n_ti, nc_pad;
    int keep_b;
    size_t a_len, b_len, park_len, bytes;
    float *c;
} gemm_plan;

/* Tiles [t0, t1) of the plan, on one thread. */
static void gemm_tiles(const gemm_ctx *x, const gemm_plan *pl, int64_t t0, int64_t t1) {
    const int64_t m = pl->m, n = pl->n, k = pl->k, mc = pl->mc, nc = x->nc, n_ti = pl->n_ti;
    float *buf = aligned_alloc(64, pl->bytes);
    float *pa = buf, *pb = buf ? buf + pl->a_len : NULL;
    float *park = buf && pl->park_len ? buf + pl->a_len + pl->b_len : NULL;
    /* With a single k block, or all of them kept, pb holds tile column packed_tj's panels from
     * column packed_from on, for the next tile of the same column. */
    int64_t packed_tj = -1, packed_from = 0;
    for (int64_t t = t0; t < t1; t++) {
        /* Row tiles vary fastest, so a thread's consecutive tiles share their B block. */
        int64_t i0 = (t % n_ti) * mc, tj = t / n_ti, j0 = tj * nc;
        int64_t mcur = min_i64(mc, m - i0), ncur = min_i64(nc, n - j0);
        float *ct = pl->c + i0 * x->crs + j0 * x->ccs;
        if (!buf) {
            gemm_unpacked(x->trans_a, x->trans_b, mcur, ncur, k, x->alpha,
                          x->trans_a ? x->a + i0 : x->a + i0 * x->lda, x->lda,
                          x->trans_b ? x->b + j0 * x->ldb : x->b + j0, x->ldb, x->beta, ct, x->crs,
                          x->ccs);
            continue;
        }
        /* B is read in place where it is untransposed and each element is used once. */
        int64_t step = mcur > MR ? 8 : NR;
        int64_t n_direct = !x->trans_b && mcur <= 2 * MR ? ncur / step * step : 0;
        int64_t kb = n_direct > 0 ? KC_DIRECT : KC;
        int kept = pl->keep_b || k <= kb;
        int reuse = kept && packed_tj == tj && packed_from == n_direct;
        for (int64_t p0 = 0; p0 < k; p0 += kb) {
            int64_t kc = min_i64(kb, k - p0);
            tile_k_block(x, i0, mcur, j0, ncur, p0, kc, p0 == 0, p0 + kc == k, ct, pa,
                         pl->keep_b ? pb + p0 * pl->nc_pad : pb, park, n_direct, !reuse);
        }
        packed_tj = kept ? tj : -1;
        packed_from = n_direct;
    }
    free(buf);
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
    gemm_plan pl = {m, n, k, mc, (m + mc - 1) / mc, nc + 8 /* + 12x8 edge panel overhang */, 0,
                    0, 0, 0, 0, c};
    int64_t n_tiles = pl.n_ti * ((n + nc - 1) / nc);
    int64_t kc_max = min_i64(k, KC);
    int single_kb = k <= KC_DIRECT; /* park not needed (either k block size) */
    /* Packed A: all of a transposed A's block; at most 12 rows otherwise. The packed B of a tile
     * column is kept for all of k where that is small enough, so that the next row tiles of the
     * column reuse it (packing B again for every tile costs more than a tenth of a 1024^3
     * product: its rows lie ldb apart); else one k block at a time. */
    pl.a_len = (size_t)round_up((trans_a ? mc : 2 * MR) * kc_max, 16);
    pl.keep_b = pl.nc_pad * k <= B_KEEP_MAX;
    pl.b_len = (size_t)round_up(pl.nc_pad * (pl.keep_b ? k : kc_max), 16);
    pl.park_len = single_kb && ccs == 1 ? 0 : (size_t)(mc * nc);
    pl.bytes = (pl.a_len + pl.b_len + pl.park_len) * sizeof(float);
    pl.bytes = (pl.bytes + 63) / 64 * 64;
    gemm_ctx x = {trans_a, trans_b, a, b, lda, ldb, crs, ccs, nc, alpha, beta};
    /* One thread calls straight in: an OpenMP region of one thread still costs a team set-up and
     * futex calls, which the cells' per-step products (inside their own regions) cannot afford. */
    if (nt <= 1) {
        gemm_tiles(&x, &pl, 0, n_tiles);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int64_t t0, t1;
        mem_static_share(n_tiles, &t0, &t1);
        gemm_tiles(&x, &pl, t0, t1);
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
