/* Shared helpers of the C tests: models from key=value lists, random data, Mackey-Glass. */
#ifndef MEM_TEST_UTIL_H
#define MEM_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmem/libmem.h"

/* Deterministic test randomness (xorshift64*), independent of the library's RNG. */
typedef struct test_rng {
    uint64_t s;
} test_rng;

static inline double test_uniform(test_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

static inline double test_range(test_rng *r, double lo, double hi) { return lo + (hi - lo) * test_uniform(r); }

static inline void test_fill(test_rng *r, float *p, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)test_range(r, lo, hi);
}

/* Creates a model of `kind` with settings "key=value" (numbers or choice names); NULL on failure
 * (the library's message is printed). */
static inline mem_model *test_model(const char *kind, int64_t n_in, int64_t n_out, const char *const *settings) {
    mem_config *cfg = NULL;
    mem_model *m = NULL;
    if (mem_config_create(kind, &cfg) != MEM_OK) goto fail;
    for (int i = 0; settings && settings[i]; i++) {
        char key[64];
        const char *eq = strchr(settings[i], '=');
        size_t n = (size_t)(eq - settings[i]);
        memcpy(key, settings[i], n);
        key[n] = '\0';
        /* a number, comma-separated numbers (an array parameter), or a choice name */
        double values[64];
        int count = 0;
        const char *p = eq + 1;
        char *end = (char *)p;
        while (count < 64) {
            values[count] = strtod(p, &end);
            if (end == p) break;
            count++;
            if (*end != ',') break;
            p = end + 1;
        }
        mem_status s;
        if (count == 0 || *end != '\0') s = mem_config_set_str(cfg, key, eq + 1);
        else if (count == 1 && mem_config_set_float(cfg, key, values[0]) == MEM_OK) s = MEM_OK;
        else s = mem_config_set_floats(cfg, key, values, count);
        if (s != MEM_OK) goto fail;
    }
    if (mem_model_create(cfg, n_in, n_out, &m) != MEM_OK) goto fail;
    mem_config_free(cfg);
    return m;
fail:
    fprintf(stderr, "test_model(%s): %s\n", kind, mem_last_error());
    mem_config_free(cfg);
    return NULL;
}

/* Mackey-Glass (tau 17, a 0.2, b 0.1, n 10) by RK4 at dt 0.1 with the delayed value linearly
 * interpolated from the history (constant 1.2 before t = 0), sampled every 1.0 after a washout of
 * 500, scaled to [-1, 1]. out has n values. Returns 0 on allocation failure. */
static inline int test_mackey_glass(float *out, int64_t n) {
    const double dt = 0.1, tau = 17.0;
    const int per_unit = 10, washout = 500;
    const int64_t steps = (int64_t)(washout + n) * per_unit + 1;
    double *hist = malloc((size_t)steps * sizeof *hist);
    if (!hist) return 0;
    hist[0] = 1.2;
    const int lag = (int)(tau / dt); /* 170 fine steps: the delay is a whole number of steps */
#define MG_DELAYED(i_, frac_) /* value at fine step i_ - lag + frac_ (frac_ in {0, 0.5, 1}) */ \
    ((i_) - lag < 0 ? 1.2 : ((i_) - lag + 1 < steps ? hist[(i_) - lag] + (frac_) * (hist[(i_) - lag + ((frac_) > 0)] - hist[(i_) - lag]) : hist[(i_) - lag]))
    for (int64_t i = 0; i + 1 < steps; i++) {
        const double x = hist[i];
        const double d0 = MG_DELAYED(i, 0.0), dh = MG_DELAYED(i, 0.5), d1 = MG_DELAYED(i, 1.0);
#define MG_F(x_, d_) (0.2 * (d_) / (1.0 + pow((d_), 10.0)) - 0.1 * (x_))
        const double k1 = MG_F(x, d0);
        const double k2 = MG_F(x + 0.5 * dt * k1, dh);
        const double k3 = MG_F(x + 0.5 * dt * k2, dh);
        const double k4 = MG_F(x + dt * k3, d1);
        hist[i + 1] = x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
#undef MG_F
#undef MG_DELAYED
    double lo = 1e300, hi = -1e300;
    for (int64_t k = 0; k < n; k++) {
        double v = hist[(washout + k) * per_unit];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    for (int64_t k = 0; k < n; k++) out[k] = (float)(2.0 * (hist[(washout + k) * per_unit] - lo) / (hi - lo) - 1.0);
    free(hist);
    return 1;
}

static inline double test_nrmse(const float *pred, const float *truth, int64_t n) {
    double mean = 0, se = 0, var = 0;
    for (int64_t i = 0; i < n; i++) mean += truth[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        se += (pred[i] - truth[i]) * (double)(pred[i] - truth[i]);
        var += (truth[i] - mean) * (truth[i] - mean);
    }
    return sqrt(se / var);
}

static inline mem_data test_stream(const float *x, const float *y, int64_t n_steps) {
    mem_data d = {MEM_LAYOUT_STREAM, MEM_TARGET_PER_STEP, x, y, NULL, 1, n_steps};
    return d;
}

#endif
