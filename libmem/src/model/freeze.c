/* Freezing helpers (spec/cells.md, partial training): masks chosen at random, by magnitude, by
 * threshold or by neuron, generic over the parameter table. They build a tensor's mask and store it
 * through mem_model_freeze / mem_model_frozen, so the mask storage, saving and the optimizer's
 * skipping of frozen entries stay in one place (model.c, io.c, train.c).
 *
 * "Exactly p of the entries" means floor(p * n + 0.5) (DESIGN §4), in C and Python alike. The
 * fraction, magnitude and threshold helpers replace the tensor's previous mask; freezing a neuron
 * adds to the existing masks, so several neurons can be frozen one after another. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

/* The tensor named `param`, with a message listing the known names when there is none. */
static mem_status lookup(const mem_model *m, const char *param, const char *fn, const mem_tensor_spec **spec) {
    int i = -1;
    MEM_CHECK(mem_model_find_tensor(m, param, fn, &i));
    *spec = &m->arch.params[i];
    return MEM_OK;
}

static mem_status check_fraction(const char *fn, const char *param, double fraction) {
    if (!(fraction >= 0.0 && fraction <= 1.0)) /* also refuses NaN */
        return mem_fail(MEM_ERR_ARG, "%s: fraction=%g for '%s' is out of range [0, 1]", fn, fraction, param);
    return MEM_OK;
}

static mem_status check_flag(const char *fn, const char *name, int value) {
    if (value != 0 && value != 1) return mem_fail(MEM_ERR_ARG, "%s: %s=%d must be 0 or 1", fn, name, value);
    return MEM_OK;
}

/* floor(fraction * n + 0.5), never above n (fraction <= 1, but rounding of the product must not
 * push it past). */
static int64_t exact_count(double fraction, int64_t n) {
    const int64_t k = (int64_t)floor(fraction * (double)n + 0.5);
    return k > n ? n : k;
}

static uint8_t *mask_buffer(int64_t n, const char *fn) {
    uint8_t *mask = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!mask) mem_fail(MEM_ERR_NOMEM, "%s: cannot allocate a %lld-entry mask", fn, (long long)n);
    return mask;
}

mem_status mem_model_freeze_fraction(mem_model *m, const char *param, double fraction) {
    static const char fn[] = "mem_model_freeze_fraction";
    const mem_tensor_spec *s = NULL;
    MEM_CHECK(lookup(m, param, fn, &s));
    MEM_CHECK(check_fraction(fn, param, fraction));
    const int64_t n = s->size, k = exact_count(fraction, n);
    uint8_t *mask = mask_buffer(n, fn);
    int64_t *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    if (!mask || !idx) {
        free(mask);
        free(idx);
        return mem_fail(MEM_ERR_NOMEM, "%s: cannot allocate %lld indices", fn, (long long)n);
    }
    /* Partial Fisher-Yates: the first k positions become a uniform sample without replacement,
     * drawn from the model's counter-based RNG (so the choice is saved with the model's counter). */
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = 0; i < k; i++) {
        const int64_t j = i + (int64_t)mem_rng_below(&m->rng, (uint64_t)(n - i));
        const int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        mask[idx[i]] = 1;
    }
    mem_status st = mem_model_freeze(m, param, mask, n);
    free(mask);
    free(idx);
    return st;
}

typedef struct ranked {
    float magnitude;
    int64_t index;
} ranked;

/* Total orders (magnitude, then index): the sort's result does not depend on qsort's stability. */
static int by_smallest(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->magnitude != b->magnitude) return a->magnitude < b->magnitude ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int by_largest(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->magnitude != b->magnitude) return a->magnitude > b->magnitude ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

mem_status mem_model_freeze_magnitude(mem_model *m, const char *param, double fraction, int largest) {
    static const char fn[] = "mem_model_freeze_magnitude";
    const mem_tensor_spec *s = NULL;
    MEM_CHECK(lookup(m, param, fn, &s));
    MEM_CHECK(check_fraction(fn, param, fraction));
    MEM_CHECK(check_flag(fn, "largest", largest));
    const int64_t n = s->size, k = exact_count(fraction, n);
    const float *w = m->net.w + s->offset;
    uint8_t *mask = mask_buffer(n, fn);
    ranked *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!mask || !order) {
        free(mask);
        free(order);
        return mem_fail(MEM_ERR_NOMEM, "%s: cannot allocate %lld indices", fn, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        /* A NaN weight ranks as the largest magnitude, so the order stays total. */
        order[i].magnitude = isnan(w[i]) ? INFINITY : fabsf(w[i]);
        order[i].index = i;
    }
    qsort(order, (size_t)n, sizeof *order, largest ? by_largest : by_smallest);
    for (int64_t i = 0; i < k; i++) mask[order[i].index] = 1;
    mem_status st = mem_model_freeze(m, param, mask, n);
    free(mask);
    free(order);
    return st;
}

mem_status mem_model_freeze_threshold(mem_model *m, const char *param, double threshold, int above) {
    static const char fn[] = "mem_model_freeze_threshold";
    const mem_tensor_spec *s = NULL;
    MEM_CHECK(lookup(m, param, fn, &s));
    if (!(threshold >= 0.0) || isinf(threshold))
        return mem_fail(MEM_ERR_ARG, "%s: threshold=%g for '%s' is out of range [0, inf) (a magnitude)", fn,
                        threshold, param);
    MEM_CHECK(check_flag(fn, "above", above));
    const int64_t n = s->size;
    const float *w = m->net.w + s->offset;
    uint8_t *mask = mask_buffer(n, fn);
    if (!mask) return MEM_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        const double v = fabs((double)w[i]);
        mask[i] = above ? v > threshold : v < threshold;
    }
    mem_status st = mem_model_freeze(m, param, mask, n);
    free(mask);
    return st;
}

/* Marks in `mask` every entry of tensor s whose index on an axis tagged "H" is k. */
static int mark_neuron(const mem_tensor_spec *s, int64_t k, uint8_t *mask) {
    int64_t stride[MEM_MAX_NDIM], acc = 1;
    int any = 0;
    for (int d = s->ndim - 1; d >= 0; d--) {
        stride[d] = acc;
        acc *= s->shape[d];
    }
    for (int d = 0; d < s->ndim; d++) {
        if (strcmp(s->axes[d], "H") != 0 || k >= s->shape[d]) continue;
        any = 1;
        /* Row-major: index = o * (shape[d] * stride[d]) + coordinate * stride[d] + inner, so the
         * entries with coordinate k are `outer` runs of stride[d] consecutive entries. */
        const int64_t outer = s->size / (s->shape[d] * stride[d]);
        for (int64_t o = 0; o < outer; o++) {
            uint8_t *block = mask + o * s->shape[d] * stride[d] + k * stride[d];
            memset(block, 1, (size_t)stride[d]);
        }
    }
    return any;
}

mem_status mem_model_freeze_neuron(mem_model *m, int64_t k) {
    static const char fn[] = "mem_model_freeze_neuron";
    MEM_REQUIRE_ARG(m, fn);
    const mem_arch *a = &m->arch;
    if (k < 0 || k >= a->hidden)
        return mem_fail(MEM_ERR_ARG, "%s: k=%lld is out of range [0, %lld) (hidden units)", fn, (long long)k,
                        (long long)a->hidden);
    int64_t largest = 1;
    for (int p = 0; p < a->n_params; p++) largest = a->params[p].size > largest ? a->params[p].size : largest;
    uint8_t *mask = mask_buffer(largest, fn);
    if (!mask) return MEM_ERR_NOMEM;
    mem_status st = MEM_OK;
    for (int p = 0; p < a->n_params && st == MEM_OK; p++) {
        const mem_tensor_spec *s = &a->params[p];
        st = mem_model_frozen(m, s->name, mask, s->size); /* keep what is already frozen */
        if (st == MEM_OK && mark_neuron(s, k, mask)) st = mem_model_freeze(m, s->name, mask, s->size);
    }
    free(mask);
    return st;
}

int64_t mem_model_frozen_count(const mem_model *m, const char *param) {
    static const char fn[] = "mem_model_frozen_count";
    if (!m) {
        mem_fail(MEM_ERR_ARG, "%s: argument 'm' is NULL", fn);
        return -1;
    }
    int64_t begin = 0, end = m->arch.n_weights;
    if (param) {
        const mem_tensor_spec *s = NULL;
        if (lookup(m, param, fn, &s) != MEM_OK) return -1;
        begin = s->offset;
        end = s->offset + s->size;
    }
    int64_t count = 0;
    for (int64_t i = begin; m->frozen && i < end; i++) count += m->frozen[i] != 0;
    return count;
}
