/* Internal interface between the dispatching gemm.c and the AVX2/FMA kernel in gemm_avx2.c
 * (compiled with -mavx2 -mfma; only called after the run-time CPU check). */
#ifndef MEM_KERNELS_GEMM_INTERNAL_H
#define MEM_KERNELS_GEMM_INTERNAL_H

#include <stdint.h>

/* The AVX2 kernel exists on x86 with a GCC-compatible compiler (needs __builtin_cpu_supports). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MEM_GEMM_HAVE_AVX2 1
#else
#define MEM_GEMM_HAVE_AVX2 0
#endif

#if MEM_GEMM_HAVE_AVX2
/* C = alpha * op(A) * op(B) + beta * C with FMA accumulation; m, n, k > 0 and alpha != 0 (the
 * caller handles the degenerate cases); nt threads split the output blocks. */
void mem_gemm_f32_avx2(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, int nt);

/* The path taken when packing memory cannot be allocated: unpacked loops with fmaf, bit-identical
 * to mem_gemm_f32_avx2. Exposed so the tests can check that equality. */
void mem_gemm_f32_fma_unpacked(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc);
#endif

#endif
