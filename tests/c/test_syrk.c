/* syrk kernel tests (kernels/syrk.h): the fast path gives the portable reference's bits on shapes
 * that cross every tile, group and row-block edge; the result is within the float32 block-sum bound
 * of the exact product; the same bits for every thread count; the lower triangle is never written;
 * the block norms agree with the entries.
 * Under MEMNATIVE_SIMD=scalar both sides are the reference, so only the accuracy checks bite. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "kernels/syrk.h"
#include "testing.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float rand_uniform(void) { /* in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* z (n x d, row-major) and its packed copy (zero padding). */
typedef struct {
    int64_t n, d;
    float *z, *packed;
} matrix;

static matrix make_matrix(int64_t n, int64_t d) {
    matrix m = {n, d, malloc((size_t)(n * d + 1) * sizeof(float)),
                calloc((size_t)mem_syrk_packed_len(n, d) + 1, sizeof(float))};
    if (!m.z || !m.packed) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (int64_t p = 0; p < n; p++)
        for (int64_t j = 0; j < d; j++) {
            /* an offset column mean, as CKA's inputs are centred but not zero-mean per block */
            float v = rand_uniform() + (j % 3 == 0 ? 0.5f : 0.0f);
            m.z[p * d + j] = v;
            m.packed[mem_syrk_packed_index(n, p, j)] = v;
        }
    return m;
}

static void free_matrix(matrix *m) {
    free(m->z);
    free(m->packed);
}

static double *make_c(int64_t d, int64_t ldc, double fill) {
    double *c = malloc((size_t)(d * ldc + 1) * sizeof(double));
    if (!c) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (int64_t q = 0; q < d * ldc; q++) c[q] = fill;
    return c;
}

/* Fast path == reference bit for bit on the upper triangle; nothing else in C written; within the
 * block-sum error bound of the exact (double) product. */
static void check_shape(int64_t n, int64_t d, int64_t pad) {
    matrix m = make_matrix(n, d);
    int64_t ldc = d + pad;
    const double sentinel = -12345.5;
    double *fast = make_c(d, ldc, sentinel), *ref = make_c(d, ldc, sentinel);
    mem_syrk_f32_acc64(n, d, m.packed, 0, d, fast, ldc, 1);
    mem_syrk_f32_acc64_ref(n, d, m.packed, 0, d, ref, ldc);
    int64_t mismatches = 0, written_below = 0, outside_bound = 0;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < ldc; j++) {
            double v = fast[i * ldc + j];
            if (j < i || j >= d) {
                written_below += v != sentinel;
                continue;
            }
            mismatches += memcmp(&v, &ref[i * ldc + j], sizeof v) != 0;
            double exact = 0.0, magnitude = 0.0;
            for (int64_t p = 0; p < n; p++) {
                double t = (double)m.z[p * d + i] * (double)m.z[p * d + j];
                exact += t;
                magnitude += fabs(t);
            }
            /* each block: MEM_SYRK_BLOCK roundings of at most 2^-24 relative to its running sum */
            outside_bound += fabs(v - exact) > (MEM_SYRK_BLOCK + 2) * ldexp(1.0, -24) * magnitude + 1e-30;
        }
    CHECK_MSG(mismatches == 0, "n=%lld d=%lld: %lld entries differ from the reference",
              (long long)n, (long long)d, (long long)mismatches);
    CHECK_MSG(written_below == 0, "n=%lld d=%lld: %lld entries below the diagonal written",
              (long long)n, (long long)d, (long long)written_below);
    CHECK_MSG(outside_bound == 0, "n=%lld d=%lld: %lld entries outside the error bound",
              (long long)n, (long long)d, (long long)outside_bound);
    free(fast);
    free(ref);
    free_matrix(&m);
}

static void test_shapes(void) {
    /* d crossing the 4-row and 24-column micro-tiles (1, 2 or 3 vectors left at the right edge,
     * with and without the 8x8 pairs of strips), the 24-column groups and the 48 x 288 tiles; n
     * crossing the 512-row blocks */
    static const int64_t shapes[][3] = {{1, 1, 0},     {5, 7, 3},    {127, 6, 0},   {128, 16, 1},
                                        {129, 48, 0},  {300, 49, 5}, {333, 203, 0}, {257, 289, 2},
                                        {40, 300, 0},  {1000, 97, 0}, {2, 577, 7},  {511, 24, 0},
                                        {512, 25, 1},  {513, 41, 0}, {1025, 56, 3}, {60, 512, 0},
                                        {30, 1024, 0}, {700, 130, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
}

/* n_threads 1, 2, 3 and 0 give the same bits (shapes above the parallel threshold). */
static void test_thread_determinism(void) {
    static const int64_t shapes[][2] = {{600, 100}, {130, 400}, {2000, 61}};
    static const int threads[] = {2, 3, 0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t n = shapes[s][0], d = shapes[s][1];
        CHECK(n * d * d >= MEM_PARALLEL_MIN_WORK);
        matrix m = make_matrix(n, d);
        double *one = make_c(d, d, 0.0), *many = make_c(d, d, 0.0);
        mem_syrk_f32_acc64(n, d, m.packed, 0, d, one, d, 1);
        for (int h = 0; h < 3; h++) {
            mem_syrk_f32_acc64(n, d, m.packed, 0, d, many, d, threads[h]);
            int64_t diff = 0;
            for (int64_t i = 0; i < d; i++)
                diff += memcmp(one + i * d + i, many + i * d + i, (size_t)(d - i) * sizeof(double)) != 0;
            CHECK_MSG(diff == 0, "n=%lld d=%lld: n_threads=%d differs from 1 in %lld rows",
                      (long long)n, (long long)d, threads[h], (long long)diff);
        }
        free(one);
        free(many);
        free_matrix(&m);
    }
}

/* Column strips [j0, j1) (j0 on group boundaries, and one that is not, taken by the reference)
 * hold the same bits as the same columns of the whole triangle, and write nothing else. */
static void test_strips(void) {
    const int64_t n = 300, d = 700, w = 610; /* wide enough for [96, 700) */
    static const int64_t ranges[][2] = {{0, 288}, {288, 576}, {576, 700}, {48, 49}, {96, 1000}, {50, 130}};
    matrix m = make_matrix(n, d);
    double *whole = make_c(d, d, 0.0), *strip = make_c(d, w, 0.0);
    mem_syrk_f32_acc64(n, d, m.packed, 0, d, whole, d, 1);
    const double sentinel = -99.25;
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        int64_t j0 = ranges[r][0], j1 = ranges[r][1] < d ? ranges[r][1] : d;
        for (int64_t q = 0; q < d * w; q++) strip[q] = sentinel;
        mem_syrk_f32_acc64(n, d, m.packed, j0, ranges[r][1], strip, w, 0);
        int64_t wrong = 0;
        for (int64_t i = 0; i < d; i++)
            for (int64_t q = 0; q < w; q++) {
                int64_t j = j0 + q;
                double v = strip[i * w + q];
                if (j < j1 && i <= j && i < j1) wrong += memcmp(&v, &whole[i * d + j], sizeof v) != 0;
                else wrong += v != sentinel;
            }
        CHECK_MSG(wrong == 0, "strip [%lld, %lld): %lld entries wrong", (long long)j0,
                  (long long)ranges[r][1], (long long)wrong);
    }
    free(whole);
    free(strip);
    free_matrix(&m);
}

/* Block norms: the squared Frobenius norms of Z1^T Z1, Z2^T Z2 and Z1^T Z2 from the reference
 * entries (summed here in another order, so to 1e-12), without and with column offsets (the
 * entries less n o_i o_j), for splits on and off group and tile edges; the same bits for every
 * thread count. */
static void test_block_norms(void) {
    static const int64_t cases[][3] = {{300, 1, 1},  {5, 7, 3},    {129, 96, 48}, {257, 289, 100},
                                       {300, 700, 288}, {40, 300, 299}, {600, 100, 1}};
    static const int threads[] = {2, 3, 0};
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        int64_t n = cases[s][0], d = cases[s][1], split = cases[s][2];
        matrix m = make_matrix(n, d);
        double *g = make_c(d, d, 0.0), *offset = malloc((size_t)d * sizeof(double));
        if (!offset) exit(2);
        mem_syrk_f32_acc64_ref(n, d, m.packed, 0, d, g, d);
        for (int64_t j = 0; j < d; j++) offset[j] = 0.3 * rand_uniform();
        /* without and with column offsets: G_ij, then G_ij - n o_i o_j */
        for (int with_offset = 0; with_offset < 2; with_offset++) {
            const double *o = with_offset ? offset : NULL;
            double expect[3] = {0.0, 0.0, 0.0};
            for (int64_t i = 0; i < d; i++)
                for (int64_t j = 0; j < d; j++) {
                    double v = i <= j ? g[i * d + j] : g[j * d + i];
                    if (o) v -= (double)n * o[i] * o[j];
                    if (i < split && j < split) expect[0] += v * v;
                    else if (i >= split && j >= split) expect[1] += v * v;
                    else if (i < j) expect[2] += v * v; /* each cross entry once */
                }
            double one[3], many[3];
            CHECK(mem_syrk_f32_block_norms(n, d, m.packed, split, o, one, 1) == 0);
            for (int k = 0; k < 3; k++)
                CHECK_MSG(fabs(one[k] - expect[k]) <= 1e-12 * expect[k], "n=%lld d=%lld split=%lld offset=%d: "
                          "norm %d %.17g, expected %.17g", (long long)n, (long long)d, (long long)split,
                          with_offset, k, one[k], expect[k]);
            for (int h = 0; h < 3; h++) {
                CHECK(mem_syrk_f32_block_norms(n, d, m.packed, split, o, many, threads[h]) == 0);
                CHECK_MSG(memcmp(one, many, sizeof one) == 0, "n=%lld d=%lld: n_threads=%d changes the norms",
                          (long long)n, (long long)d, threads[h]);
            }
        }
        free(offset);
        free(g);
        free_matrix(&m);
    }
    double norms[3] = {1.0, 1.0, 1.0};
    float dummy = 0.0f;
    CHECK(mem_syrk_f32_block_norms(0, 4, &dummy, 2, NULL, norms, 1) == 0 && norms[0] == 0.0 && norms[2] == 0.0);
}

/* No rows: the upper triangle is zero; no columns: nothing happens. */
static void test_degenerate(void) {
    double *c = make_c(5, 5, 7.0);
    float dummy = 0.0f;
    mem_syrk_f32_acc64(0, 5, &dummy, 0, 5, c, 5, 1);
    for (int64_t i = 0; i < 5; i++)
        for (int64_t j = 0; j < 5; j++) CHECK(c[i * 5 + j] == (j >= i ? 0.0 : 7.0));
    mem_syrk_f32_acc64(3, 0, &dummy, 0, 0, c, 5, 1);
    CHECK(c[1] == 0.0 && c[5] == 7.0);
    free(c);
}

int main(void) {
    printf("syrk kernel: %s\n", mem_gemm_simd_name());
    test_shapes();
    test_thread_determinism();
    test_strips();
    test_block_norms();
    test_degenerate();
    TEST_MAIN_END();
}
