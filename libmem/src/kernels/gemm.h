/* General matrix multiply, row-major: C = alpha * op(A) * op(B) + beta * C.
 * op(A) is (m x k), op(B) is (k x n); trans_a / trans_b select the transpose of the stored matrix
 * (A stored k x m when trans_a). lda/ldb/ldc are row strides in elements. beta == 0 overwrites C
 * without reading it (C may hold NaN); alpha == 0 does not read A or B (C = beta * C), as in BLAS.
 *
 * Determinism: every element of C is computed by the same sequence of operations whatever the
 * thread count or its position in the matrix: a sum over k in increasing order starting from 0,
 * then alpha * sum + beta * C. Threads only split the set of output elements.
 * n_threads: requested threads (0 = OpenMP default); small products run on one thread. */
#ifndef MEM_KERNELS_GEMM_H
#define MEM_KERNELS_GEMM_H

#include <stdint.h>

void mem_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc, int n_threads);

/* Scalar reference in float with double accumulation (tests compare against it). */
void mem_gemm_ref_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                      int64_t ldc);

/* Double precision (the gradient-check build), plain loops. */
void mem_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                  int64_t ldc, int n_threads);

/* "avx2" when the AVX2/FMA kernel is in use on this CPU, else "scalar". */
const char *mem_gemm_simd_name(void);

#endif
