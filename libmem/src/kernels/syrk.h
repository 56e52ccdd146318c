/* Gram product of a tall float32 matrix with float64 accumulation of block sums (linear CKA's
 * Z^T Z), upper triangle only, on Z stored in a packed layout.
 *
 * Layout: Z (n x d) is cut into column groups of MEM_SYRK_GROUP, each stored row by row and
 * contiguous: element (p, j) at packed[mem_syrk_packed_index(n, p, j)]; columns from d up to the
 * next multiple of the group are zero. The caller writes Z straight into this layout (CKA centres
 * its inputs into it), so the product needs no packing and no extra memory of its own.
 *
 * Result: the columns [j0, j1) of the upper triangle (the fast path needs j0 to be a multiple of
 * MEM_SYRK_GROUP; j1 is clipped to d): for i <= j,
 * j0 <= j < j1, the entry (i, j) is stored at c[i * ldc + (j - j0)] (rows 0 .. j1 - 1), equal to
 * the sum over row blocks b, in increasing b, of (double)
 * s_b(i, j), where s_b(i, j) is the float32 sum of z[p][i] * z[p][j] over the rows of block b
 * (rows [b * MEM_SYRK_BLOCK, min(n, (b + 1) * MEM_SYRK_BLOCK))), accumulated from 0 by one
 * correctly rounded fma per row in increasing p. A block's error is that of a float32 sum of
 * MEM_SYRK_BLOCK terms, so the total does not drift with n. Nothing else in c is written.
 * mem_syrk_f32_block_norms forms the same entries and reduces them without storing any (CKA).
 *
 * Determinism: that per-element sequence is the same for every thread count and for the AVX2 and
 * portable paths (fmaf is one lane of _mm256_fmadd_ps), so the bits are too.
 * n_threads: requested threads (0 = OpenMP default); small products run on one thread. */
#ifndef MEM_KERNELS_SYRK_H
#define MEM_KERNELS_SYRK_H

#include <stdint.h>

/* Sizes measured on Zen 3 (n = 2000, d = 512 and 1024: 87-89 GFLOP/s with 48-column groups and
 * 128-row blocks, 91-93 with these): a group is exactly the micro-tile's 24 columns, so the
 * micro-tile's B operand is contiguous, and 512-row blocks spread the float64 additions at the end
 * of each block over four times the work. */
#define MEM_SYRK_GROUP 24  /* the micro-tile's 24 columns (a multiple of its 4 and 8 rows too) */
#define MEM_SYRK_BLOCK 512 /* rows per float32 block */
#define MEM_SYRK_TILE_ROWS 48 /* a tile's rows: two groups */
#define MEM_SYRK_TILE_COLS 288 /* twelve groups; the tile's float64 sums (108 KB) stay in L2 */

static inline int64_t mem_syrk_packed_index(int64_t n, int64_t p, int64_t j) {
    return (j / MEM_SYRK_GROUP) * MEM_SYRK_GROUP * n + p * MEM_SYRK_GROUP + j % MEM_SYRK_GROUP;
}

/* Floats in the packed layout of an n x d matrix. */
static inline int64_t mem_syrk_packed_len(int64_t n, int64_t d) {
    return (d + MEM_SYRK_GROUP - 1) / MEM_SYRK_GROUP * MEM_SYRK_GROUP * n;
}

void mem_syrk_f32_acc64(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                        double *c, int64_t ldc, int n_threads);

/* The squared Frobenius norms of the blocks of G = Z^T Z, Z = [Z1 | Z2] split after column
 * `split` (linear CKA's three products from one symmetric one): norms[0] = ||Z1^T Z1||^2,
 * norms[1] = ||Z2^T Z2||^2, norms[2] = ||Z1^T Z2||^2. Each entry of G's upper triangle is formed as
 * mem_syrk_f32_acc64 forms it (the same bits) and never stored; its square is added in float64 to
 * its tile's sums (a diagonal entry once, one of Z1^T Z1 or Z2^T Z2 twice for its mirror image),
 * the tiles in a fixed order, so the result does not depend on the thread count either.
 * col_offset (d values, or NULL): G is taken as the Gram product of the columns minus these
 * constants, G_ij - n o_i o_j (in float64, before squaring): with o the columns' means, the
 * product of the exactly centred columns, whatever shift they were stored with.
 * Returns 0, or -1 (norms zero) when the work memory cannot be allocated. */
int mem_syrk_f32_block_norms(int64_t n, int64_t d, const float *packed, int64_t split,
                             const double *col_offset, double norms[3], int n_threads);

/* The portable path (plain loops with fmaf): the reference the tests compare the fast path with. */
void mem_syrk_f32_acc64_ref(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                            double *c, int64_t ldc);

#endif
