/* Helpers shared by the generic cell implementations (include after core/real.h). */
#ifndef MEM_CELLS_CELL_UTIL_H
#define MEM_CELLS_CELL_UTIL_H

#include <stdint.h>
#include <string.h>

#include "core/threads.h"
#include "model/net.h"

static inline int64_t mem_lane_blocks(int64_t B) { return (B + MEM_LANE_BLOCK - 1) / MEM_LANE_BLOCK; }

/* Lane chunks for the parallel loop over a window's lanes: the blocks of MEM_LANE_BLOCK lanes are
 * shared out as nt contiguous chunks (fewer if there are fewer blocks), so that each thread's
 * per-step products cover all of its lanes in one GEMM (one pass over the recurrent matrix per step
 * instead of one per block). A lane's arithmetic does not depend on its chunk (the GEMM computes
 * each element the same way wherever it sits; per-block gradient sums stay per block), so the bits
 * do not depend on the thread count. */
static inline int64_t mem_lane_chunks(int64_t B, int nt) {
    const int64_t n_blocks = mem_lane_blocks(B);
    return nt < n_blocks ? nt : n_blocks;
}

/* Lanes [*b0, *b1) of chunk c of n_chunks. */
static inline void mem_lane_chunk(int64_t B, int64_t n_chunks, int64_t c, int64_t *b0, int64_t *b1) {
    const int64_t n_blocks = mem_lane_blocks(B);
    *b0 = c * n_blocks / n_chunks * MEM_LANE_BLOCK;
    const int64_t end = (c + 1) * n_blocks / n_chunks * MEM_LANE_BLOCK;
    *b1 = end < B ? end : B;
}

/* A lane past its valid length in this window holds its state (sequences shorter than the batch's
 * longest, the shorter last sub-stream of a stream). */
static inline int mem_lane_held(const int64_t *len, int64_t t, int64_t lane) {
    return len != NULL && t >= len[lane];
}

/* The steps of a window of T that a lane does not hold (the first ones). */
static inline int64_t mem_lane_valid_steps(const int64_t *len, int64_t T, int64_t lane) {
    return len == NULL || len[lane] >= T ? T : (len[lane] > 0 ? len[lane] : 0);
}

#ifdef MEM_GENERIC_SOURCE
#include "core/dense.h"

/* out[o] = (add ? out[o] : 0) + Σ_k a[k n + o] x[k] for o < n, k = 0..K-1 in increasing order: a
 * matrix-vector product with the matrix stored by columns, vectorised across o in register tiles of
 * w outputs. Each out[o] takes exactly the operations of a scalar running sum (acc += a x, k
 * increasing), so the bits are those of the plain loop over a row (also in the AVX2 clone). */
static inline void mem_gemv_tile(int64_t n, int64_t K, const mem_real *restrict a, const mem_real *restrict x,
                                 int add, mem_real *restrict out, int64_t o0, const int w) {
    mem_real acc[32];
    for (int c = 0; c < w; c++) acc[c] = add ? out[o0 + c] : MEM_R(0);
    for (int64_t k = 0; k < K; k++) {
        const mem_real xk = x[k], *col = a + k * n + o0;
        for (int c = 0; c < w; c++) acc[c] += col[c] * xk;
    }
    for (int c = 0; c < w; c++) out[o0 + c] = acc[c];
}

/* (not inline where it has AVX2 clones, so "unused" silences the cells that do not call it) */
static MEM_SIMD_CLONES __attribute__((unused)) void mem_gemv_cols(int64_t n, int64_t K,
                                                                  const mem_real *restrict a,
                                                                  const mem_real *restrict x, int add,
                                                                  mem_real *restrict out) {
    int64_t o0 = 0;
    for (; o0 + 32 <= n; o0 += 32) mem_gemv_tile(n, K, a, x, add, out, o0, 32);
    if (o0 + 16 <= n) {
        mem_gemv_tile(n, K, a, x, add, out, o0, 16);
        o0 += 16;
    }
    if (o0 + 8 <= n) {
        mem_gemv_tile(n, K, a, x, add, out, o0, 8);
        o0 += 8;
    }
    if (o0 + 4 <= n) {
        mem_gemv_tile(n, K, a, x, add, out, o0, 4);
        o0 += 4;
    }
    for (; o0 < n; o0++) mem_gemv_tile(n, K, a, x, add, out, o0, 1);
}

/* out[j] += sum over rows r of a[r * lda + j], rows in increasing order (deterministic). */
static inline void mem_column_sums_add(const mem_real *a, int64_t rows, int64_t cols, int64_t lda, mem_real *out) {
    for (int64_t r = 0; r < rows; r++) {
        const mem_real *row = a + r * lda;
        for (int64_t j = 0; j < cols; j++) out[j] += row[j];
    }
}
#endif

#endif
