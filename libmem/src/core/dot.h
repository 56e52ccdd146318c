/* Dot products of mem_real vectors with a fixed association: eight interleaved partial sums, added
 * pairwise, then the tail. Without -ffast-math a single running sum cannot be vectorised, while this
 * order can, and it is the same for every thread count and lane, so results stay deterministic.
 * Generic (float and double builds); static inline, for the per-step loops of the cells and the
 * manifold. */
#ifndef MEM_CORE_DOT_H
#define MEM_CORE_DOT_H

#include <stdint.h>

#include "core/real.h"

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

#endif
