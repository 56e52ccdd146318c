/* Helpers shared by the generic cell implementations (include after core/real.h). */
#ifndef MEM_CELLS_CELL_UTIL_H
#define MEM_CELLS_CELL_UTIL_H

#include <stdint.h>
#include <string.h>

#include "core/threads.h"
#include "model/net.h"

static inline int64_t mem_lane_blocks(int64_t B) { return (B + MEM_LANE_BLOCK - 1) / MEM_LANE_BLOCK; }

/* A lane past its valid length in this window holds its state (sequences shorter than the batch's
 * longest, the shorter last sub-stream of a stream). */
static inline int mem_lane_held(const int64_t *len, int64_t t, int64_t lane) {
    return len != NULL && t >= len[lane];
}

#ifdef MEM_GENERIC_SOURCE
/* out[j] += sum over rows r of a[r * lda + j], rows in increasing order (deterministic). */
static inline void mem_column_sums_add(const mem_real *a, int64_t rows, int64_t cols, int64_t lda, mem_real *out) {
    for (int64_t r = 0; r < rows; r++) {
        const mem_real *row = a + r * lda;
        for (int64_t j = 0; j < cols; j++) out[j] += row[j];
    }
}
#endif

#endif
