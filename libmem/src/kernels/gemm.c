/* GEMM entry points: run-time dispatch between the AVX2/FMA kernel (gemm_avx2.c) and a portable
 * scalar kernel, plus the double-accumulating reference and the double-precision version.
 *
 * The kernel is chosen once per process (pthread_once), so a given build on a given machine always
 * produces the same bits. MEMNATIVE_SIMD=scalar forces the scalar kernel (for testing it).
 * Built with -ffp-contract=off: the scalar kernel's separate multiply and add must stay apart. */
#include "gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "gemm_internal.h"

static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static int simd_use_avx2;

static void simd_init(void) {
    const char *env = getenv("MEMNATIVE_SIMD");
    int force_scalar = env != NULL && strcmp(env, "scalar") == 0;
#if MEM_GEMM_HAVE_AVX2
    __builtin_cpu_init();
    simd_use_avx2 =
        !force_scalar && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)force_scalar;
    simd_use_avx2 = 0;
#endif
}

const char *mem_gemm_simd_name(void) {
    pthread_once(&simd_once, simd_init);
    return simd_use_avx2 ? "avx2" : "scalar";
}

static inline int64_t min_i64(int64_t x, int64_t y) { return x < y ? x : y; }

/* ---- portable scalar kernel -------------------------------------------------------------------
 * Per element: acc = 0; acc = acc + a*b for k in increasing order (separate multiply and add;
 * -ffp-contract=off keeps them apart); C = alpha*acc + beta*C. A tile (S_TM x S_TN) packs op(B)
 * per k block into 16-column panels and runs 4x16 register blocks over it; the 16 columns of a
 * block are independent lanes, so auto-vectorising them does not change any element's sequence. */
#define S_MR 4
#define S_NR 16
#define S_TM 32
#define S_TN 64
#define S_KC 128

static void scalar_tile(int trans_a, int trans_b, int64_t i0, int64_t mt, int64_t j0, int64_t nt,
                        int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                        int64_t ldb, float beta, float *c, int64_t ldc) {
    float tacc[S_TM][S_TN];   /* the tile's accumulators between k blocks */
    float bpk[S_KC * S_TN];   /* op(B) k block: S_TN/S_NR panels of kc x S_NR, zero-padded */
    int64_t rs = trans_a ? 1 : lda, ks = trans_a ? lda : 1; /* op(A)(i, p) = a[i*rs + p*ks] */
    for (int r = 0; r < S_TM; r++)
        for (int j = 0; j < S_TN; j++) tacc[r][j] = 0.0f;
    for (int64_t p0 = 0; p0 < k; p0 += S_KC) {
        int64_t kc = min_i64(S_KC, k - p0);
        for (int64_t jp = 0; jp < nt; jp += S_NR) {
            float *d = bpk + jp * kc;
            for (int64_t p = 0; p < kc; p++, d += S_NR)
                for (int64_t j = 0; j < S_NR; j++) {
                    int64_t jj = j0 + jp + j;
                    d[j] = jp + j >= nt ? 0.0f
                           : trans_b    ? b[jj * ldb + p0 + p]
                                        : b[(p0 + p) * ldb + jj];
                }
        }
        for (int64_t ir = 0; ir < mt; ir += S_MR) {
            /* Rows past the tile read row ir again; their results are dropped. */
            const float *ar[S_MR];
            for (int r = 0; r < S_MR; r++)
                ar[r] = a + (i0 + ir + (ir + r < mt ? r : 0)) * rs + p0 * ks;
            for (int64_t jp = 0; jp < nt; jp += S_NR) {
                float acc[S_MR][S_NR];
                for (int r = 0; r < S_MR; r++)
                    for (int j = 0; j < S_NR; j++) acc[r][j] = tacc[ir + r][jp + j];
                const float *bq = bpk + jp * kc;
                for (int64_t p = 0; p < kc; p++, bq += S_NR) {
                    for (int r = 0; r < S_MR; r++) {
                        float av = ar[r][p * ks];
                        for (int j = 0; j < S_NR; j++) acc[r][j] = acc[r][j] + av * bq[j];
                    }
                }
                for (int r = 0; r < S_MR; r++)
                    for (int j = 0; j < S_NR; j++) tacc[ir + r][jp + j] = acc[r][j];
            }
        }
    }
    for (int64_t r = 0; r < mt; r++) {
        float *cr = c + (i0 + r) * ldc + j0;
        if (beta == 0.0f)
            for (int64_t j = 0; j < nt; j++) cr[j] = alpha * tacc[r][j];
        else
            for (int64_t j = 0; j < nt; j++) cr[j] = alpha * tacc[r][j] + beta * cr[j];
    }
}

static void gemm_f32_scalar(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                            float *c, int64_t ldc, int nt) {
    int64_t n_ti = (m + S_TM - 1) / S_TM, n_tj = (n + S_TN - 1) / S_TN;
    int64_t n_tiles = n_ti * n_tj;
    (void)nt; /* unused without OpenMP */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t t = 0; t < n_tiles; t++) {
        int64_t i0 = (t % n_ti) * S_TM, j0 = (t / n_ti) * S_TN;
        scalar_tile(trans_a, trans_b, i0, min_i64(S_TM, m - i0), j0, min_i64(S_TN, n - j0), k,
                    alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

/* C = beta * C (k == 0 or alpha == 0: op(A) op(B) contributes nothing and is not read). */
static void scale_f32(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        if (beta == 0.0f)
            for (int64_t j = 0; j < n; j++) cr[j] = 0.0f;
        else
            for (int64_t j = 0; j < n; j++) cr[j] = beta * cr[j];
    }
}

void mem_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc, int n_threads) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_f32(m, n, beta, c, ldc);
        return;
    }
    pthread_once(&simd_once, simd_init);
    int nt = mem_threads_for(n_threads, 2 * m * n * k);
#if MEM_GEMM_HAVE_AVX2
    if (simd_use_avx2) {
        mem_gemm_f32_avx2(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nt);
        return;
    }
#endif
    gemm_f32_scalar(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nt);
}

void mem_gemm_ref_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                      int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double av = trans_a ? a[p * lda + i] : a[i * lda + p];
                double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
            }
            float *cij = c + i * ldc + j;
            double v = (double)alpha * acc;
            if (beta != 0.0f) v += (double)beta * *cij;
            *cij = (float)v;
        }
    }
}

/* Double precision for the gradient-check build: plain loops, k in increasing order per element,
 * rows split across threads. A row's columns go S_TN at a time to keep B access sequential. */
void mem_gemm_f64(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                  int64_t ldc, int n_threads) {
    if (m <= 0 || n <= 0) return;
    int nt = mem_threads_for(n_threads, 2 * m * n * (k > 0 ? k : 1));
    (void)nt; /* unused without OpenMP */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        double acc[S_TN];
        for (int64_t j0 = 0; j0 < n; j0 += S_TN) {
            int64_t nr = min_i64(S_TN, n - j0);
            for (int64_t j = 0; j < nr; j++) acc[j] = 0.0;
            if (alpha != 0.0) {
                for (int64_t p = 0; p < k; p++) {
                    double av = trans_a ? a[p * lda + i] : a[i * lda + p];
                    if (trans_b)
                        for (int64_t j = 0; j < nr; j++)
                            acc[j] = acc[j] + av * b[(j0 + j) * ldb + p];
                    else
                        for (int64_t j = 0; j < nr; j++)
                            acc[j] = acc[j] + av * b[p * ldb + j0 + j];
                }
            }
            double *cr = c + i * ldc + j0;
            if (beta == 0.0)
                for (int64_t j = 0; j < nr; j++) cr[j] = alpha * acc[j];
            else
                for (int64_t j = 0; j < nr; j++) cr[j] = alpha * acc[j] + beta * cr[j];
        }
    }
}
