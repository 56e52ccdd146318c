/* Small dense helpers of the cells and the manifold: dot products and transposes of mem_real
 * arrays. Generic (float and double builds); static inline, for per-step and per-window loops. */
#ifndef MEM_CORE_DENSE_H
#define MEM_CORE_DENSE_H

#include <stdint.h>

#include "core/real.h"

/* Dot products use a fixed association: eight interleaved partial sums, added pairwise, then the
 * tail. Without -ffast-math a single running sum cannot be vectorised, while this order can, and it
 * is the same for every thread count and lane, so results stay deterministic. */
#define MEM_DOT_LANES 8

/* The partial sums of a dot product (MEM_DOT_LANES of them, plus the tail), in the fixed order. */
static inline mem_real mem_dot_reduce(const mem_real *acc, mem_real tail) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

/* Σ_j a_j b_j. */
static inline mem_real mem_dot(const mem_real *a, const mem_real *b, int64_t n) {
    mem_real acc[MEM_DOT_LANES] = {0}, tail = 0;
    int64_t j = 0;
    for (; j + MEM_DOT_LANES <= n; j += MEM_DOT_LANES)
        for (int c = 0; c < MEM_DOT_LANES; c++) acc[c] += a[j + c] * b[j + c];
    for (; j < n; j++) tail += a[j] * b[j];
    return mem_dot_reduce(acc, tail);
}

/* dst (cols x rows, row stride ldd) = srcᵀ, src rows x cols with row stride lds. */
static inline void mem_transpose_strided(int64_t rows, int64_t cols, const mem_real *restrict src, int64_t lds,
                                         mem_real *restrict dst, int64_t ldd) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

/* dst (cols x rows) = srcᵀ, both dense and row-major: the cells transpose a recurrent matrix once per
 * window so that the per-step products read it by columns. */
static inline void mem_transpose(int64_t rows, int64_t cols, const mem_real *restrict src,
                                 mem_real *restrict dst) {
    mem_transpose_strided(rows, cols, src, cols, dst, rows);
}

#endif
