/* The syrk kernel's tile loop, shared by the Gram product (mem_syrk_f32_acc64) and the block
 * norms (mem_syrk_f32_block_norms): threads share out the tiles of the upper triangle; each tile
 * is computed into a private float64 buffer by the AVX2/FMA tile (syrk_avx2.c) where gemm.c's
 * run-time check chose AVX2, else by the portable loops below (the same bits, see syrk.h), and
 * then copied out or reduced. */
#include "syrk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "gemm.h"
#include "gemm_internal.h"

#define TM MEM_SYRK_TILE_ROWS
#define TN MEM_SYRK_TILE_COLS

#if MEM_GEMM_HAVE_AVX2
/* syrk_avx2.c: the tile's entries (i0 + r, jt + q), r < mt, q < ntl, i <= j, at ct[r * TN + q]
 * (its whole micro-tiles: some entries past those are written too). */
void mem_syrk_tile_avx2(int64_t n, const float *packed, int64_t i0, int64_t mt, int64_t jt,
                        int64_t ntl, double *ct);
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Entry (i, j) of the product: float32 block sums (one fma per row) added in float64. */
static double entry_ref(int64_t n, const float *packed, int64_t i, int64_t j) {
    const float *zi = packed + mem_syrk_packed_index(n, 0, i);
    const float *zj = packed + mem_syrk_packed_index(n, 0, j);
    double total = 0.0;
    for (int64_t b0 = 0; b0 < n; b0 += MEM_SYRK_BLOCK) {
        int64_t b1 = min64(b0 + MEM_SYRK_BLOCK, n);
        float s = 0.0f;
        for (int64_t p = b0; p < b1; p++) s = fmaf(zi[p * MEM_SYRK_GROUP], zj[p * MEM_SYRK_GROUP], s);
        total += (double)s;
    }
    return total;
}

void mem_syrk_f32_acc64_ref(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                            double *c, int64_t ldc) {
    (void)d;
    for (int64_t i = 0; i < j1; i++)
        for (int64_t j = i > j0 ? i : j0; j < j1; j++) c[i * ldc + (j - j0)] = entry_ref(n, packed, i, j);
}

/* Sum of squares in four interleaved partial sums (a fixed order; one chain of dependent
 * additions would take longer than the product's tail). */
static double sum_squares(const double *v, int64_t len) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t q = 0;
    for (; q + 4 <= len; q += 4) {
        s0 += v[q] * v[q];
        s1 += v[q + 1] * v[q + 1];
        s2 += v[q + 2] * v[q + 2];
        s3 += v[q + 3] * v[q + 3];
    }
    for (; q < len; q++) s0 += v[q] * v[q];
    return (s0 + s1) + (s2 + s3);
}

/* What the tile loop does with a finished tile: copy it into C, or add its squared entries to
 * the tile's three block sums (mem_syrk_f32_block_norms). */
typedef struct syrk_out {
    double *c;
    int64_t ldc;
    int64_t split;
    double *tile_sums;        /* 3 per tile */
    const double *col_offset; /* or NULL (mem_syrk_f32_block_norms) */
    double n_rows;
} syrk_out;

static void tile_finish(double *ct, int64_t i0, int64_t mt, int64_t j0, int64_t jt, int64_t ntl,
                        const syrk_out *out, int64_t t) {
    if (out->c) {
        for (int64_t r = 0; r < mt; r++) {
            int64_t q0 = i0 + r > jt ? i0 + r - jt : 0;
            if (q0 < ntl)
                memcpy(out->c + (i0 + r) * out->ldc + (jt - j0) + q0, ct + r * TN + q0,
                       (size_t)(ntl - q0) * sizeof(double));
        }
        return;
    }
    /* row i's entries (i, j), j in [lo, jt + ntl): a diagonal entry counts once, the others twice
     * (the lower triangle mirrors them), except in the off-diagonal block Z1^T Z2, whose norm is
     * that of its upper-triangle half alone */
    double sxx = 0.0, syy = 0.0, sxy = 0.0;
    const int64_t split = out->split, j1 = jt + ntl;
    for (int64_t r = 0; r < mt; r++) {
        int64_t i = i0 + r, lo = i > jt ? i : jt;
        if (lo >= j1) continue;
        double *row = ct + r * TN; /* row[j - jt]: entry (i, j) */
        if (out->col_offset) {
            const double scaled = out->n_rows * out->col_offset[i], *offset = out->col_offset + jt;
            for (int64_t q = lo - jt; q < ntl; q++) row[q] -= scaled * offset[q];
        }
        double *own = i < split ? &sxx : &syy;
        if (lo == i) {
            *own += row[i - jt] * row[i - jt];
            lo++;
        }
        int64_t mid = i < split ? (split > lo ? min64(split, j1) : lo) : j1;
        *own += 2.0 * sum_squares(row + (lo - jt), mid - lo);
        sxy += sum_squares(row + (mid - jt), j1 - mid);
    }
    out->tile_sums[3 * t] = sxx;
    out->tile_sums[3 * t + 1] = syy;
    out->tile_sums[3 * t + 2] = sxy;
}

static void tile_ref(int64_t n, const float *packed, int64_t i0, int64_t mt, int64_t jt, int64_t ntl,
                     double *ct) {
    for (int64_t r = 0; r < mt; r++)
        for (int64_t q = i0 + r > jt ? i0 + r - jt : 0; q < ntl; q++)
            ct[r * TN + q] = entry_ref(n, packed, i0 + r, jt + q);
}

/* Tiles over rows [0, j1) and columns [j0, j1), in row-major tile order t (tiles wholly below the
 * diagonal are skipped). Returns -1, writing nothing, when a tile buffer cannot be allocated. */
static int tile_loop(int64_t n, const float *packed, int64_t j0, int64_t j1, int fast, int nt,
                     const syrk_out *out) {
    int64_t n_ti = (j1 + TM - 1) / TM, n_tj = (j1 - j0 + TN - 1) / TN, n_tiles = n_ti * n_tj;
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        double *ct = aligned_alloc(64, (size_t)TM * TN * sizeof(double));
        if (!ct) {
#pragma omp atomic write
            failed = 1;
        }
        /* the output is written only if every thread has its buffer */
#pragma omp barrier
        int skip;
#pragma omp atomic read
        skip = failed;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tiles; t++) {
            if (skip) continue;
            int64_t i0 = (t / n_tj) * TM, jt = j0 + (t % n_tj) * TN;
            int64_t mt = min64(TM, j1 - i0), ntl = min64(TN, j1 - jt);
            if (out->tile_sums) out->tile_sums[3 * t] = out->tile_sums[3 * t + 1] = out->tile_sums[3 * t + 2] = 0.0;
            if (i0 > jt + ntl - 1) continue; /* wholly below the diagonal */
#if MEM_GEMM_HAVE_AVX2
            if (fast) mem_syrk_tile_avx2(n, packed, i0, mt, jt, ntl, ct);
            else
#endif
                tile_ref(n, packed, i0, mt, jt, ntl, ct);
            tile_finish(ct, i0, mt, j0, jt, ntl, out, t);
        }
        free(ct);
    }
    return failed ? -1 : 0;
}

/* The AVX2 tile reads 16 columns from one group, so tiles must start on a group. */
static int use_fast(int64_t j0) {
#if MEM_GEMM_HAVE_AVX2
    return j0 % MEM_SYRK_GROUP == 0 && strcmp(mem_gemm_simd_name(), "avx2") == 0;
#else
    (void)j0;
    return 0;
#endif
}

void mem_syrk_f32_acc64(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                        double *c, int64_t ldc, int n_threads) {
    if (j1 > d) j1 = d;
    if (j0 < 0 || j0 >= j1) return;
    if (n <= 0) {
        for (int64_t i = 0; i < j1; i++) {
            int64_t from = i > j0 ? i : j0;
            memset(c + i * ldc + (from - j0), 0, (size_t)(j1 - from) * sizeof(double));
        }
        return;
    }
    const syrk_out out = {c, ldc, 0, NULL, NULL, 0.0};
    int fast = use_fast(j0);
    if (fast && tile_loop(n, packed, j0, j1, 1, mem_threads_for(n_threads, n * j1 * (j1 - j0)), &out) == 0)
        return;
    mem_syrk_f32_acc64_ref(n, d, packed, j0, j1, c, ldc);
}

int mem_syrk_f32_block_norms(int64_t n, int64_t d, const float *packed, int64_t split,
                             const double *col_offset, double norms[3], int n_threads) {
    norms[0] = norms[1] = norms[2] = 0.0;
    if (n <= 0 || d <= 0) return 0;
    int64_t n_tiles = (d + TM - 1) / TM * ((d + TN - 1) / TN);
    double *tile_sums = malloc((size_t)n_tiles * 3 * sizeof(double));
    if (!tile_sums) return -1;
    const syrk_out out = {NULL, 0, split, tile_sums, col_offset, (double)n};
    int st = tile_loop(n, packed, 0, d, use_fast(0), mem_threads_for(n_threads, n * d * d), &out);
    /* tile order, whatever thread computed the tile */
    for (int64_t t = 0; st == 0 && t < n_tiles; t++)
        for (int k = 0; k < 3; k++) norms[k] += tile_sums[3 * t + k];
    free(tile_sums);
    return st;
}
