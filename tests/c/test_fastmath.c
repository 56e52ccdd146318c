/* core/fastmath.h: maximum relative error of its functions against
 * double-precision libm over a dense sweep of float bit patterns (every 127th float of each range,
 * plus the neighbourhoods of the branch points; every 251st or 509th float for the
 * wide ranges of expm1, log1p and softplus), their special values, and that a vectorised loop
 * gives the scalar function's bits. The bounds asserted are the ones stated in fastmath.h. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fastmath.h"
#include "core/real.h"
#include "testing.h"

/* The sanitizer build (Debug, instrumented) sweeps every 8th point of the Release sweep: the
 * accuracy is a property of the arithmetic, which the Release run checks densely. */
#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_SCALE 8
#else
#define SWEEP_SCALE 1
#endif

typedef float (*fast_fn)(float);
typedef double (*ref_fn)(double);

static double ref_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }
static double ref_softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* Largest |fast - ref| / |ref| over the floats in [lo, hi] visited with the given bit stride (both
 * signs' bit patterns walked from 0 in magnitude), and the worst argument. */
static double max_rel_error(fast_fn fast, ref_fn ref, float lo, float hi, uint32_t stride, float *worst) {
    double max_err = 0.0;
    stride *= SWEEP_SCALE;
    *worst = 0.0f;
    for (int neg = 0; neg < 2; neg++) {
        for (uint64_t u = 0; u < 0x7f800000u; u += stride) {
            float x = mem_bits_to_float((uint32_t)u | (neg ? 0x80000000u : 0u));
            if (x < lo || x > hi) {
                if (neg ? x < lo : x > hi) break; /* magnitudes only grow from here */
                continue;
            }
            double r = ref((double)x), f = (double)fast(x);
            double err = r == 0.0 ? fabs(f) : fabs(f - r) / fabs(r);
            if (err > max_err) {
                max_err = err;
                *worst = x;
            }
        }
    }
    return max_err;
}

/* Every float within 4096 ulps of each branch point, on both sides. */
static double max_rel_error_near(fast_fn fast, ref_fn ref, const float *points, int n_points) {
    double max_err = 0.0;
    for (int q = 0; q < n_points; q++) {
        uint32_t c = mem_float_to_bits(points[q]);
        for (uint32_t u = c - 4096; u != c + 4096; u++) {
            float x = mem_bits_to_float(u);
            double r = ref((double)x), err = fabs((double)fast(x) - r) / fabs(r);
            if (err > max_err) max_err = err;
        }
    }
    return max_err;
}

static void test_accuracy(void) {
    float worst;
    double e = max_rel_error(mem_expf, exp, -87.3f, 88.7f, 127, &worst);
    printf("mem_expf     max relative error %.3g (at %.9g)\n", e, (double)worst);
    CHECK_MSG(e < 1.5e-7, "mem_expf: %.3g at %.9g", e, (double)worst);

    double t = max_rel_error(mem_tanhf, tanh, -30.0f, 30.0f, 127, &worst);
    const float tanh_points[] = {0.5f, -0.5f, 10.0f, -10.0f};
    double tn = max_rel_error_near(mem_tanhf, tanh, tanh_points, 4);
    printf("mem_tanhf    max relative error %.3g (at %.9g), %.3g near the branch points\n", t,
           (double)worst, tn);
    CHECK_MSG(t < 2.5e-7 && tn < 2.5e-7, "mem_tanhf: %.3g at %.9g, %.3g near branches", t, (double)worst, tn);

    double s = max_rel_error(mem_sigmoidf, ref_sigmoid, -87.0f, 100.0f, 127, &worst);
    printf("mem_sigmoidf max relative error %.3g (at %.9g)\n", s, (double)worst);
    CHECK_MSG(s < 2.5e-7, "mem_sigmoidf: %.3g at %.9g", s, (double)worst);

    double m = max_rel_error(mem_expm1f, expm1, -30.0f, 88.0f, 251, &worst);
    const float expm1_points[] = {0.7f, -0.7f};
    double mn = max_rel_error_near(mem_expm1f, expm1, expm1_points, 2);
    printf("mem_expm1f   max relative error %.3g (at %.9g), %.3g near the branch points\n", m, (double)worst, mn);
    CHECK_MSG(m < 3e-7 && mn < 3e-7, "mem_expm1f: %.3g at %.9g, %.3g near branches", m, (double)worst, mn);

    double l = max_rel_error(mem_log1pf, log1p, -0.99999994f, 3e38f, 509, &worst);
    printf("mem_log1pf   max relative error %.3g (at %.9g)\n", l, (double)worst);
    CHECK_MSG(l < 3e-7, "mem_log1pf: %.3g at %.9g", l, (double)worst);

    double p = max_rel_error(mem_softplusf, ref_softplus, -87.0f, 1e30f, 509, &worst);
    printf("mem_softplusf max relative error %.3g (at %.9g)\n", p, (double)worst);
    CHECK_MSG(p < 3.5e-7, "mem_softplusf: %.3g at %.9g", p, (double)worst);
}

static void test_special_values(void) {
    CHECK(mem_expf(0.0f) == 1.0f);
    CHECK(mem_expf(INFINITY) == INFINITY);
    CHECK(mem_expf(100.0f) == INFINITY);
    CHECK(mem_expf(-INFINITY) == 0.0f);
    CHECK(mem_expf(-110.0f) == 0.0f);
    /* a subnormal result, correctly scaled: exp(-100) = 3.72e-44 is 27 times the smallest one */
    float sub = mem_expf(-100.0f);
    CHECK(sub > 0.0f && sub < FLT_MIN && fabs((double)sub - exp(-100.0)) <= 1.5e-45);
    CHECK(isnan(mem_expf(NAN)));
    CHECK(mem_tanhf(0.0f) == 0.0f && signbit(mem_tanhf(-0.0f)));
    CHECK(mem_tanhf(INFINITY) == 1.0f && mem_tanhf(-INFINITY) == -1.0f);
    CHECK(mem_tanhf(1e30f) == 1.0f && mem_tanhf(-1e30f) == -1.0f);
    CHECK(mem_tanhf(1e-30f) == 1e-30f); /* tiny arguments are returned as they are */
    CHECK(isnan(mem_tanhf(NAN)));
    CHECK(mem_sigmoidf(0.0f) == 0.5f);
    CHECK(mem_sigmoidf(INFINITY) == 1.0f && mem_sigmoidf(-INFINITY) == 0.0f);
    CHECK(mem_sigmoidf(-200.0f) == 0.0f && mem_sigmoidf(200.0f) == 1.0f);
    CHECK(isnan(mem_sigmoidf(NAN)));
    CHECK(mem_expm1f(0.0f) == 0.0f && mem_expm1f(-INFINITY) == -1.0f && mem_expm1f(INFINITY) == INFINITY);
    CHECK(mem_expm1f(1e-30f) == 1e-30f && isnan(mem_expm1f(NAN)));
    CHECK(mem_log1pf(0.0f) == 0.0f && mem_log1pf(1e-30f) == 1e-30f);
    CHECK(mem_log1pf(-1.0f) == -INFINITY && isnan(mem_log1pf(-2.0f)) && isnan(mem_log1pf(NAN)));
    CHECK(mem_log1pf(INFINITY) == INFINITY);
    CHECK(mem_softplusf(-INFINITY) == 0.0f && mem_softplusf(INFINITY) == INFINITY && isnan(mem_softplusf(NAN)));
    CHECK(mem_softplusf(0.0f) == (float)log(2.0));
    /* odd symmetry of tanh is exact */
    for (float x = 0.001f; x < 20.0f; x *= 1.37f) CHECK(mem_tanhf(-x) == -mem_tanhf(x));
}

/* Called through a pointer: a plain scalar call, never part of a vectorised loop. */
static float (*volatile scalar_tanh)(float) = mem_tanhf;
static float (*volatile scalar_sigmoid)(float) = mem_sigmoidf;
static float (*volatile scalar_softplus)(float) = mem_softplusf;

/* The library's per-lane loops are compiled for the baseline and for AVX2 (MEM_SIMD_CLONES); this
 * one is too, and on an AVX2 machine runs the AVX2 copy, 8 lanes at a time. */
static MEM_SIMD_CLONES void clone_loop(int n, const float *x, float *yt, float *ys, float *yp, float *ye,
                                       float *yl) {
    for (int q = 0; q < n; q++) {
        yt[q] = mem_tanhf(x[q]);
        ys[q] = mem_sigmoidf(x[q]);
        yp[q] = mem_softplusf(x[q]);
        ye[q] = mem_expm1f(x[q]);
        yl[q] = mem_log1pf(x[q] * x[q]);
    }
}

static float (*volatile scalar_expm1)(float) = mem_expm1f;
static float (*volatile scalar_log1p)(float) = mem_log1pf;

static void test_clone_equals_scalar(void) {
    enum { N = 4099 };
    static float x[N], yt[N], ys[N], yp[N], ye[N], yl[N];
    for (int q = 0; q < N; q++) x[q] = (float)(q - N / 2) * 0.0123f;
    clone_loop(N, x, yt, ys, yp, ye, yl);
    int differ = 0;
    for (int q = 0; q < N; q++) {
        float r[5] = {scalar_tanh(x[q]), scalar_sigmoid(x[q]), scalar_softplus(x[q]), scalar_expm1(x[q]),
                      scalar_log1p(x[q] * x[q])};
        float v[5] = {yt[q], ys[q], yp[q], ye[q], yl[q]};
        differ += memcmp(r, v, sizeof r) != 0;
    }
    CHECK_MSG(differ == 0, "%d points differ between the cloned loop and the scalar calls", differ);
}

/* The loops below are vectorised at -O3; every lane must equal the scalar call. */
static void test_vector_equals_scalar(void) {
    enum { N = 4099 };
    static float x[N], yt[N], ys[N], yp[N];
    for (int q = 0; q < N; q++) x[q] = (float)(q - N / 2) * 0.0123f;
    for (int q = 0; q < N; q++) yt[q] = mem_tanhf(x[q]);
    for (int q = 0; q < N; q++) ys[q] = mem_sigmoidf(x[q]);
    for (int q = 0; q < N; q++) yp[q] = mem_softplusf(x[q]);
    int differ = 0;
    for (int q = 0; q < N; q++) {
        float a = scalar_tanh(x[q]), b = scalar_sigmoid(x[q]), c = scalar_softplus(x[q]);
        differ += memcmp(&a, &yt[q], sizeof a) != 0 || memcmp(&b, &ys[q], sizeof b) != 0 ||
                  memcmp(&c, &yp[q], sizeof c) != 0;
    }
    CHECK_MSG(differ == 0, "%d lanes differ from the scalar call", differ);
}

int main(void) {
    test_accuracy();
    test_special_values();
    test_vector_equals_scalar();
    test_clone_equals_scalar();
    TEST_MAIN_END();
}
