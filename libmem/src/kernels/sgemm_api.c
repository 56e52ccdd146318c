/* mem_sgemm: the public entry point to the float32 GEMM kernel (gemm.c), with argument checks.
 * The benchmark harness measures the kernel through it; users get a deterministic SGEMM. */
#include "core/error.h"
#include "kernels/gemm.h"

mem_status mem_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                     int64_t ldc, int n_threads) {
    const char *fn = "mem_sgemm";
    if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1))
        return mem_fail(MEM_ERR_ARG, "%s: trans_a=%d and trans_b=%d must be 0 or 1", fn, trans_a,
                        trans_b);
    if (m < 0 || n < 0 || k < 0)
        return mem_fail(MEM_ERR_SHAPE, "%s: m=%lld, n=%lld, k=%lld must be >= 0", fn, (long long)m,
                        (long long)n, (long long)k);
    if (n_threads < 0)
        return mem_fail(MEM_ERR_ARG, "%s: n_threads=%d must be >= 0", fn, n_threads);
    if (m == 0 || n == 0) return MEM_OK;
    /* op(A) is m x k: stored k x m when transposed; op(B) is k x n: stored n x k when transposed. */
    int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    if (lda < (a_cols > 1 ? a_cols : 1) || ldb < (b_cols > 1 ? b_cols : 1) || ldc < n)
        return mem_fail(MEM_ERR_SHAPE,
                        "%s: leading dimensions lda=%lld, ldb=%lld, ldc=%lld are below the row "
                        "lengths %lld, %lld, %lld",
                        fn, (long long)lda, (long long)ldb, (long long)ldc, (long long)a_cols,
                        (long long)b_cols, (long long)n);
    MEM_REQUIRE_ARG(c, fn);
    if (k > 0 && alpha != 0.0f) {
        MEM_REQUIRE_ARG(a, fn);
        MEM_REQUIRE_ARG(b, fn);
    }
    mem_gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, n_threads);
    return MEM_OK;
}
