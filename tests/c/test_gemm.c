/* GEMM tests: accuracy against the double-accumulating reference for every transpose combination
 * on odd shapes and padded leading dimensions; the exact per-element operation sequence; bit-level
 * determinism across thread counts and element positions; degenerate cases.
 *
 * The SIMD path is fixed once per process, so ctest runs this twice: as is (AVX2 where the CPU has
 * it) and with MEMNATIVE_SIMD=scalar. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"
#include "testing.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float rand_uniform(void) { /* in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void fill_random(float *x, size_t len) {
    for (size_t i = 0; i < len; i++) x[i] = rand_uniform();
}

static void fill_value(float *x, size_t len, float v) {
    for (size_t i = 0; i < len; i++) x[i] = v;
}

/* A product's operands, stored with padded leading dimensions. */
typedef struct {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    float *a, *b;
} operands;

static operands make_operands(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t pad) {
    operands o = {ta, tb, m, n, k, 0, 0, 0, NULL, NULL};
    int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    o.lda = a_cols + pad;
    o.ldb = b_cols + pad;
    o.ldc = n + pad;
    size_t a_len = (size_t)(a_rows * o.lda), b_len = (size_t)(b_rows * o.ldb);
    o.a = malloc((a_len ? a_len : 1) * sizeof(float));
    o.b = malloc((b_len ? b_len : 1) * sizeof(float));
    if (!o.a || !o.b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    fill_random(o.a, a_len);
    fill_random(o.b, b_len);
    return o;
}

static void free_operands(operands *o) {
    free(o->a);
    free(o->b);
}

static float *alloc_c(const operands *o) {
    size_t len = (size_t)(o->m * o->ldc);
    float *c = malloc((len ? len : 1) * sizeof(float));
    if (!c) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return c;
}

static float op_a(const operands *o, int64_t i, int64_t p) {
    return o->ta ? o->a[p * o->lda + i] : o->a[i * o->lda + p];
}
static float op_b(const operands *o, int64_t p, int64_t j) {
    return o->tb ? o->b[j * o->ldb + p] : o->b[p * o->ldb + j];
}

static void run_gemm(const operands *o, float alpha, float beta, float *c, int n_threads) {
    mem_gemm_f32(o->ta, o->tb, o->m, o->n, o->k, alpha, o->a, o->lda, o->b, o->ldb, beta, c,
                 o->ldc, n_threads);
}

static const float pad_sentinel = 12345.0f;

/* mem_gemm_f32 against the reference, with an error bound relative to sum |a||b| per element;
 * the padding between rows of C must be left alone. */
static void check_accuracy(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                           float beta, int64_t pad) {
    operands o = make_operands(ta, tb, m, n, k, pad);
    size_t c_len = (size_t)(m * o.ldc);
    float *c0 = alloc_c(&o), *c = alloc_c(&o), *r = alloc_c(&o);
    fill_random(c0, c_len);
    if (beta == 0.0f) fill_value(c0, c_len, NAN); /* must not be read */
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = n; j < o.ldc; j++) c0[i * o.ldc + j] = pad_sentinel;
    memcpy(c, c0, c_len * sizeof(float));
    memcpy(r, c0, c_len * sizeof(float));
    run_gemm(&o, alpha, beta, c, 0);
    mem_gemm_ref_f32(ta, tb, m, n, k, alpha, o.a, o.lda, o.b, o.ldb, beta, r, o.ldc);
    double tol = 1e-5 * sqrt((double)(k > 1 ? k : 1));
    int64_t bad_i = -1, bad_j = -1; /* the first failing element */
    for (int64_t i = 0; i < m && bad_i < 0; i++) {
        for (int64_t j = 0; j < o.ldc && bad_i < 0; j++) {
            float got = c[i * o.ldc + j];
            int bad;
            if (j >= n) {
                bad = got != pad_sentinel;
            } else {
                double scale = 0.0;
                for (int64_t p = 0; p < k; p++)
                    scale += fabs((double)op_a(&o, i, p) * op_b(&o, p, j));
                scale *= fabs(alpha);
                if (beta != 0.0f) scale += fabs((double)beta * c0[i * o.ldc + j]);
                double err = fabs((double)got - r[i * o.ldc + j]);
                bad = !(err <= tol * scale + FLT_MIN); /* also catches NaN */
            }
            if (bad) bad_i = i, bad_j = j;
        }
    }
    CHECK_MSG(bad_i < 0,
              "ta=%d tb=%d %lldx%lldx%lld ld+%lld alpha=%g beta=%g: (%lld,%lld) got %.9g want %.9g",
              ta, tb, (long long)m, (long long)n, (long long)k, (long long)pad, alpha, beta,
              (long long)bad_i, (long long)bad_j, bad_i < 0 ? 0.0f : c[bad_i * o.ldc + bad_j],
              bad_i < 0 ? 0.0f : (bad_j >= n ? pad_sentinel : r[bad_i * o.ldc + bad_j]));
    free(c0);
    free(c);
    free(r);
    free_operands(&o);
}

static void test_accuracy_odd_shapes(void) {
    static const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100};
    static const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 2.0f}, {2.0f, 0.0f},
                                  {0.75f, -1.0f}};
    int ns = (int)(sizeof sizes / sizeof sizes[0]);
    int idx = 0;
    for (int t = 0; t < 4; t++)
        for (int im = 0; im < ns; im++)
            for (int in = 0; in < ns; in++)
                for (int ik = 0; ik < ns; ik++, idx++) {
                    const float *s = ab[idx % 5];
                    check_accuracy(t & 1, t >> 1, sizes[im], sizes[in], sizes[ik], s[0], s[1],
                                   idx % 3 == 0 ? 0 : idx % 7 + 1);
                }
}

static void test_accuracy_big_shapes(void) {
    /* Several k blocks, tile edges, tall-skinny (X W) and long-k (dP^T X) shapes. */
    static const int64_t shapes[][3] = {{257, 129, 300}, {300, 40, 1000}, {1000, 64, 8},
                                        {64, 48, 3000},  {33, 257, 513},  {97, 3, 2049}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            check_accuracy(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f,
                           (int64_t)s);
            check_accuracy(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], -1.5f, 0.5f,
                           3);
        }
}

/* The documented sequence, bit for bit: acc = 0; acc = fma(a, b, acc) (AVX2) or acc + a*b (scalar)
 * for k in increasing order; C = alpha*acc + beta*C. */
static void check_exact_sequence(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                                 float beta) {
    int use_fma = strcmp(mem_gemm_simd_name(), "avx2") == 0;
    operands o = make_operands(ta, tb, m, n, k, 2);
    float *c = alloc_c(&o);
    size_t c_len = (size_t)(m * o.ldc);
    fill_random(c, c_len);
    float *c0 = alloc_c(&o);
    memcpy(c0, c, c_len * sizeof(float));
    run_gemm(&o, alpha, beta, c, 0);
    int64_t bad_i = -1, bad_j = -1;
    float bad_got = 0.0f, bad_want = 0.0f;
    for (int64_t i = 0; i < m && bad_i < 0; i++)
        for (int64_t j = 0; j < n && bad_i < 0; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                if (use_fma) {
                    acc = fmaf(op_a(&o, i, p), op_b(&o, p, j), acc);
                } else {
                    volatile float prod = op_a(&o, i, p) * op_b(&o, p, j); /* no contraction */
                    acc = acc + prod;
                }
            }
            volatile float t = alpha * acc;
            float want = beta == 0.0f ? t : t + beta * c0[i * o.ldc + j];
            float got = c[i * o.ldc + j];
            if (memcmp(&got, &want, sizeof got) != 0)
                bad_i = i, bad_j = j, bad_got = got, bad_want = want;
        }
    CHECK_MSG(bad_i < 0, "ta=%d tb=%d %lldx%lldx%lld: (%lld,%lld) got %.9g want %.9g", ta, tb,
              (long long)m, (long long)n, (long long)k, (long long)bad_i, (long long)bad_j,
              bad_got, bad_want);
    free(c);
    free(c0);
    free_operands(&o);
}

static void test_exact_sequence(void) {
    for (int t = 0; t < 4; t++) {
        check_exact_sequence(t & 1, t >> 1, 13, 37, 5, 1.0f, 0.0f);
        check_exact_sequence(t & 1, t >> 1, 20, 19, 300, 0.5f, -1.25f);
        check_exact_sequence(t & 1, t >> 1, 7, 70, 600, -2.0f, 1.0f);
        /* the micro-kernels' short-panel loops: tails of 4 and 2 rows, a narrow tile of 8 */
        check_exact_sequence(t & 1, t >> 1, 16, 33, 70, 1.0f, 0.5f);
        check_exact_sequence(t & 1, t >> 1, 32, 17, 130, 1.0f, 0.0f);
        check_exact_sequence(t & 1, t >> 1, 8, 40, 90, 1.5f, 0.0f);
    }
}

/* n_threads = 1, 2, 3 and 0 give the same bits (k is raised where needed so that every shape is
 * above the parallel threshold). */
static void test_thread_determinism(void) {
    static const int64_t shapes[][3] = {{257, 129, 300}, {100, 33, 17}, {40, 20, 2000},
                                        {9, 7, 5000},    {2500, 64, 8}, {32, 512, 128}};
    static const int threads[] = {2, 3, 0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            int64_t k_min = (MEM_PARALLEL_MIN_WORK + 2 * m * n - 1) / (2 * m * n);
            if (k < k_min) k = k_min;
            operands o = make_operands(t & 1, t >> 1, m, n, k, 1);
            size_t c_len = (size_t)(m * o.ldc);
            float *c0 = alloc_c(&o), *c1 = alloc_c(&o), *cx = alloc_c(&o);
            fill_random(c0, c_len);
            float beta = s % 2 ? 0.5f : 0.0f;
            memcpy(c1, c0, c_len * sizeof(float));
            run_gemm(&o, 1.25f, beta, c1, 1);
            for (int h = 0; h < 3; h++) {
                memcpy(cx, c0, c_len * sizeof(float));
                run_gemm(&o, 1.25f, beta, cx, threads[h]);
                CHECK_MSG(memcmp(c1, cx, c_len * sizeof(float)) == 0,
                          "ta=%d tb=%d %lldx%lldx%lld: n_threads=%d differs from 1", t & 1, t >> 1,
                          (long long)m, (long long)n, (long long)k, threads[h]);
            }
            free(c0);
            free(c1);
            free(cx);
            free_operands(&o);
        }
}

/* Computing the sub-block rows [r0, m) x columns [s0, n) through offset pointers gives the same
 * bits as those elements of the full product, though they now sit at other block positions. */
static void test_position_independence(void) {
    /* Includes shapes whose sub-block crosses the kernel's orientation and in-place-B rules. */
    static const int64_t shapes[][3] = {{100, 70, 300}, {23, 41, 9},  {64, 48, 600},
                                        {7, 150, 33},   {45, 47, 40}, {17, 80, 20}};
    static const int64_t offsets[][2] = {{3, 5}, {1, 1}, {6, 16}, {5, 13}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t q = 0; q < sizeof offsets / sizeof offsets[0]; q++) {
                int ta = t & 1, tb = t >> 1;
                int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int64_t r0 = offsets[q][0], s0 = offsets[q][1];
                float beta = q % 2 ? -0.75f : 0.0f;
                operands o = make_operands(ta, tb, m, n, k, 3);
                size_t c_len = (size_t)(m * o.ldc);
                float *c0 = alloc_c(&o), *full = alloc_c(&o), *sub = alloc_c(&o);
                fill_random(c0, c_len);
                memcpy(full, c0, c_len * sizeof(float));
                memcpy(sub, c0, c_len * sizeof(float));
                run_gemm(&o, 0.5f, beta, full, 0);
                const float *a_sub = ta ? o.a + r0 : o.a + r0 * o.lda;
                const float *b_sub = tb ? o.b + s0 * o.ldb : o.b + s0;
                mem_gemm_f32(ta, tb, m - r0, n - s0, k, 0.5f, a_sub, o.lda, b_sub, o.ldb, beta,
                             sub + r0 * o.ldc + s0, o.ldc, 0);
                int same = 1;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        const float *want = i >= r0 && j >= s0 ? &full[i * o.ldc + j]
                                                               : &c0[i * o.ldc + j];
                        same &= memcmp(&sub[i * o.ldc + j], want, sizeof(float)) == 0;
                    }
                CHECK_MSG(same, "ta=%d tb=%d %lldx%lldx%lld sub-block at (%lld,%lld) differs", ta,
                          tb, (long long)m, (long long)n, (long long)k, (long long)r0,
                          (long long)s0);
                free(c0);
                free(full);
                free(sub);
                free_operands(&o);
            }
}

/* k == 0, alpha == 0, empty outputs. */
static void test_degenerate(void) {
    for (int t = 0; t < 4; t++) {
        operands o = make_operands(t & 1, t >> 1, 9, 21, 0, 2);
        size_t c_len = (size_t)(o.m * o.ldc);
        float *c0 = alloc_c(&o), *c = alloc_c(&o);
        fill_random(c0, c_len);
        /* k == 0: C = beta * C. */
        memcpy(c, c0, c_len * sizeof(float));
        run_gemm(&o, 1.0f, 0.5f, c, 0);
        int ok = 1;
        for (int64_t i = 0; i < o.m; i++)
            for (int64_t j = 0; j < o.n; j++) ok &= c[i * o.ldc + j] == 0.5f * c0[i * o.ldc + j];
        CHECK_MSG(ok, "k=0 beta=0.5 (ta=%d tb=%d)", t & 1, t >> 1);
        /* k == 0, beta == 0 over NaN: zeros. */
        fill_value(c, c_len, NAN);
        run_gemm(&o, 1.0f, 0.0f, c, 0);
        ok = 1;
        for (int64_t i = 0; i < o.m; i++)
            for (int64_t j = 0; j < o.n; j++) ok &= c[i * o.ldc + j] == 0.0f;
        CHECK_MSG(ok, "k=0 beta=0 over NaN (ta=%d tb=%d)", t & 1, t >> 1);
        free(c0);
        free(c);
        free_operands(&o);
    }
    /* alpha == 0: op(A) op(B) is not read (A full of NaN), C = beta * C. */
    operands o = make_operands(0, 0, 5, 6, 7, 0);
    fill_value(o.a, 5 * 7, NAN);
    float c[30], c0[30];
    fill_random(c0, 30);
    memcpy(c, c0, sizeof c);
    run_gemm(&o, 0.0f, 2.0f, c, 0);
    int ok = 1;
    for (int i = 0; i < 30; i++) ok &= c[i] == 2.0f * c0[i];
    CHECK(ok);
    /* m == 0 or n == 0: nothing written. */
    memcpy(c, c0, sizeof c);
    mem_gemm_f32(0, 0, 0, 6, 7, 1.0f, o.a, 7, o.b, 6, 0.0f, c, 6, 0);
    mem_gemm_f32(0, 0, 5, 0, 7, 1.0f, o.a, 7, o.b, 6, 0.0f, c, 6, 0);
    CHECK(memcmp(c, c0, sizeof c) == 0);
    free_operands(&o);
}

/* The out-of-memory fallback of the AVX2 kernel must give the same bits as the packed kernel. */
static void test_fma_fallback(void) {
#if MEM_GEMM_HAVE_AVX2
    if (strcmp(mem_gemm_simd_name(), "avx2") != 0) return;
    static const int64_t shapes[][3] = {{37, 45, 300}, {6, 16, 1}, {50, 3, 700}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            operands o = make_operands(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 1);
            size_t c_len = (size_t)(o.m * o.ldc);
            float *c1 = alloc_c(&o), *c2 = alloc_c(&o);
            fill_random(c1, c_len);
            memcpy(c2, c1, c_len * sizeof(float));
            run_gemm(&o, 0.5f, 1.5f, c1, 0);
            mem_gemm_f32_fma_unpacked(o.ta, o.tb, o.m, o.n, o.k, 0.5f, o.a, o.lda, o.b, o.ldb,
                                      1.5f, c2, o.ldc);
            CHECK_MSG(memcmp(c1, c2, c_len * sizeof(float)) == 0, "fallback differs (s=%zu t=%d)",
                      s, t);
            free(c1);
            free(c2);
            free_operands(&o);
        }
#endif
}

static void test_f64(void) {
    for (int t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        int64_t m = 19, n = 70, k = 33;
        operands o = make_operands(ta, tb, m, n, k, 1);
        int64_t a_len = (ta ? k : m) * o.lda, b_len = (tb ? n : k) * o.ldb, c_len = m * o.ldc;
        double *a = malloc((size_t)a_len * sizeof(double));
        double *b = malloc((size_t)b_len * sizeof(double));
        double *c = malloc((size_t)c_len * sizeof(double));
        float *c0 = alloc_c(&o);
        CHECK(a && b && c);
        if (!a || !b || !c) return;
        for (int64_t i = 0; i < a_len; i++) a[i] = o.a[i];
        for (int64_t i = 0; i < b_len; i++) b[i] = o.b[i];
        fill_random(c0, (size_t)c_len);
        for (int64_t i = 0; i < c_len; i++) c[i] = c0[i];
        mem_gemm_f64(ta, tb, m, n, k, 0.5, a, o.lda, b, o.ldb, -1.0, c, o.ldc, 0);
        int ok = 1;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double want = 0.0;
                for (int64_t p = 0; p < k; p++) want += (double)op_a(&o, i, p) * op_b(&o, p, j);
                want = 0.5 * want - c0[i * o.ldc + j];
                ok &= fabs(c[i * o.ldc + j] - want) <= 1e-12;
            }
        CHECK_MSG(ok, "f64 ta=%d tb=%d", ta, tb);
        free(a);
        free(b);
        free(c);
        free(c0);
        free_operands(&o);
    }
}

int main(void) {
    printf("gemm kernel: %s\n", mem_gemm_simd_name());
    test_accuracy_odd_shapes();
    test_accuracy_big_shapes();
    test_exact_sequence();
    test_thread_determinism();
    test_position_independence();
    test_degenerate();
    test_fma_fallback();
    test_f64();
    TEST_MAIN_END();
}
