/* The scalar type of type-generic numerical code (cells, readout, loss, the window engine).
 * Those files are compiled twice: as float into libmem, and with MEM_REAL_DOUBLE into a test-only
 * library whose finite-difference gradient checks run in double. MEM_FN gives each build's
 * functions their own names (amrc_forward_f32 / amrc_forward_f64) so both link into one test. */
#ifndef MEM_CORE_REAL_H
#define MEM_CORE_REAL_H

#include <math.h>

/* For the per-lane loops that call core/fastmath.h's functions (compute-bound: tanh's division
 * and polynomials): a function marked MEM_SIMD_CLONES is compiled for the baseline and for AVX2 and
 * the loader picks one (GCC ifunc, x86-64 Linux). With -ffp-contract=off both do the same IEEE
 * operations, 4 or 8 lanes at a time, so they give the same bits. Such a function is never
 * inlined: mark only loops long enough to pay for the call. Mark static functions only: GCC
 * exports the dispatcher of an external one whatever its visibility (test_symbols checks). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define MEM_SIMD_CLONES __attribute__((target_clones("avx2", "default"), noinline))
#else
#define MEM_SIMD_CLONES
#endif

#ifdef MEM_REAL_DOUBLE
typedef double mem_real;
#define MEM_FN(name) name##_f64
#define MEM_R(x) (x)
#define mr_tanh tanh
#define mr_exp exp
#define mr_expm1 expm1
#define mr_log log
#define mr_log1p log1p
#define mr_sqrt sqrt
#define mr_fabs fabs
#define mem_gemm_real mem_gemm_f64
#else
#include "core/fastmath.h"
typedef float mem_real;
#define MEM_FN(name) name##_f32
#define MEM_R(x) ((float)(x))
#define mr_tanh mem_tanhf /* vectorisable, < 3e-7 relative error (core/fastmath.h) */
#define mr_exp mem_expf
#define mr_expm1 mem_expm1f
#define mr_log logf
#define mr_log1p mem_log1pf
#define mr_sqrt sqrtf
#define mr_fabs fabsf
#define mem_gemm_real mem_gemm_f32
#endif

#ifdef MEM_REAL_DOUBLE
static inline mem_real mr_sigmoid(mem_real z) {
    /* Split by sign so exp never overflows. */
    if (z >= 0) return MEM_R(1) / (MEM_R(1) + mr_exp(-z));
    mem_real e = mr_exp(z);
    return e / (MEM_R(1) + e);
}
#else
static inline mem_real mr_sigmoid(mem_real z) { return mem_sigmoidf(z); }
#endif

#ifdef MEM_REAL_DOUBLE
static inline mem_real mr_softplus(mem_real z) {
    return z > 0 ? z + mr_log1p(mr_exp(-z)) : mr_log1p(mr_exp(z));
}
#else
static inline mem_real mr_softplus(mem_real z) { return mem_softplusf(z); }
#endif

#endif
