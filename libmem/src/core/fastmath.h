/* Float exp, tanh, sigmoid, expm1, log1p and softplus for the float build's per-step loops
 * (core/real.h maps the mr_ names here; the double build used by the gradient checks keeps libm).
 *
 * Why: glibc's tanhf and expf are function calls that no loop can vectorise, and they were half of
 * the time of a small recurrent cell's step. These are branch-free inline code with only +, *, /,
 * comparisons and integer bit operations, so the compiler vectorises the loops that call them, and
 * a vector lane computes exactly what the scalar code does (no FMA contraction in this library:
 * -ffp-contract=off): the same bits whatever the loop's vectorisation or the thread count.
 *
 * Accuracy (measured by tests/c/test_fastmath.c against double-precision libm over every float in
 * the ranges below; the bounds there are the ones asserted):
 *   mem_expf     relative error < 1.5e-7 for x in [-87.3, 88.7] (results >= FLT_MIN; measured
 *                8.1e-8); below, the scaled subnormal or 0; exp(+-inf) = inf / 0; NaN stays NaN.
 *   mem_tanhf    relative error < 2.5e-7 everywhere (measured 1.7e-7); +-1 from |x| = 10 on.
 *   mem_sigmoidf relative error < 2.5e-7 for z >= -87 (results >= 1.6e-38; measured 1.4e-7); 0
 *                below -88.7.
 *   mem_expm1f   relative error < 3e-7; mem_log1pf < 3e-7 for y > -1 (-1: -inf; below: NaN);
 *   mem_softplusf < 3.5e-7 (its log1p of e^{-|z|}).
 * Exp: Cody-Waite reduction x = n ln2 + r (|r| <= ln2 / 2; ln2 split in a part exact in float and
 * a remainder) and the Cephes degree-6 polynomial for e^r; 2^n applied in two factors so that
 * results down to the subnormals and up to overflow come out right. Tanh: the odd Taylor series
 * through x^17 for |x| < 0.5 (remainder < 1e-9 relative), else 1 - 2 / (e^{2|x|} + 1). */
#ifndef MEM_CORE_FASTMATH_H
#define MEM_CORE_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float mem_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t mem_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float mem_expf(float x) {
    /* Outside [-104, 89] the result is 0 or inf anyway; the comparisons keep NaN as it is. */
    float xc = x > 89.0f ? 89.0f : x;
    xc = xc < -104.0f ? -104.0f : xc;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick: the sum's low mantissa bits hold n. */
    const float shifter = 12582912.0f;
    float t = xc * 1.44269504088896341f + shifter;
    int32_t n = (int32_t)(mem_float_to_bits(t) - mem_float_to_bits(shifter));
    float nf = t - shifter;
    float r = xc - nf * 0.693359375f;  /* exact: 0.693359375 has 9 significant bits */
    r = r - nf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    /* 2^n = 2^(n/2) 2^(n - n/2): both factors normal for n in [-150, 129]. */
    int32_t n1 = n >> 1, n2 = n - n1;
    float s1 = mem_bits_to_float((uint32_t)(n1 + 127) << 23);
    float s2 = mem_bits_to_float((uint32_t)(n2 + 127) << 23);
    return p * s1 * s2;
}

static inline float mem_tanhf(float x) {
    const uint32_t sign = mem_float_to_bits(x) & 0x80000000u;
    float ax = mem_bits_to_float(mem_float_to_bits(x) & 0x7fffffffu);
    /* small |x|: x + x^3 P(x^2), Taylor coefficients of tanh */
    float z = ax * ax;
    float p = 6404582.0f / 10854718875.0f;
    p = p * z - 929569.0f / 638512875.0f;
    p = p * z + 21844.0f / 6081075.0f;
    p = p * z - 1382.0f / 155925.0f;
    p = p * z + 62.0f / 2835.0f;
    p = p * z - 17.0f / 315.0f;
    p = p * z + 2.0f / 15.0f;
    p = p * z - 1.0f / 3.0f;
    float small = ax + ax * z * p;
    /* large |x|: 1 - 2 / (e^{2|x|} + 1), which rounds to 1 from |x| = 10 on */
    float e = mem_expf(2.0f * (ax > 10.0f ? 10.0f : ax));
    float large = 1.0f - 2.0f / (e + 1.0f);
    float magnitude = ax < 0.5f ? small : large;
    return mem_bits_to_float(mem_float_to_bits(magnitude) | sign);
}

static inline float mem_sigmoidf(float z) { return 1.0f / (1.0f + mem_expf(-z)); }

/* e^x - 1: the Taylor series through x^9 for |x| < 0.7 (remainder < 2e-8 relative), else
 * e^x - 1 (at most twice e^x's relative error there). */
static inline float mem_expm1f(float x) {
    float p = 1.0f / 362880.0f;
    p = p * x + 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    float small = x + x * x * p;
    float large = mem_expf(x) - 1.0f;
    float ax = mem_bits_to_float(mem_float_to_bits(x) & 0x7fffffffu);
    return ax < 0.7f ? small : large;
}

/* log(u) for u > 0 normal or +inf: u = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 * s = (m - 1)/(m + 1) (|s| <= 0.172, series through s^11), e ln2 in two parts. */
static inline float mem_logf_positive(float u) {
    uint32_t bits = mem_float_to_bits(u);
    int32_t e = (int32_t)(bits >> 23) - 127;
    float m = mem_bits_to_float((bits & 0x007fffffu) | 0x3f800000u);
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    e = big ? e + 1 : e;
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = 2.0f / 11.0f;
    p = p * s2 + 2.0f / 9.0f;
    p = p * s2 + 2.0f / 7.0f;
    p = p * s2 + 2.0f / 5.0f;
    p = p * s2 + 2.0f / 3.0f;
    float log_m = 2.0f * s + s * s2 * p;
    float ef = (float)e;
    return ef * 0.693359375f + (ef * -2.12194440e-4f + log_m);
}

/* log(1 + y): log(u) with u = 1 + y rounded, times y / (u - 1), which undoes the rounding of u
 * (u - 1 is exact); y itself where u rounds to 1. -1 gives -inf, below -1 NaN, +inf +inf. */
static inline float mem_log1pf(float y) {
    float u = 1.0f + y;
    float safe_u = u > 0.0f ? u : 1.0f; /* keep the bit manipulation on positive normal numbers */
    float r = mem_logf_positive(safe_u) * (y / (u - 1.0f));
    r = u == 1.0f ? y : r;
    r = u == 0.0f ? -INFINITY : r;
    r = u < 0.0f ? NAN : r;
    return y == INFINITY ? INFINITY : r;
}

/* softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}) (never overflows). */
static inline float mem_softplusf(float z) {
    float az = mem_bits_to_float(mem_float_to_bits(z) & 0x7fffffffu);
    return (z > 0.0f ? z : 0.0f) + mem_log1pf(mem_expf(-az));
}

#endif
