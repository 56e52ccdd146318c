/* Permutation of a model's units along a permutable axis ("H", "M"), generic over the parameter
 * and state tables: every tensor axis carrying the tag is reordered, together with what is stored
 * per parameter entry (freeze mask, optimizer moments) and per state entry (the stored memory and
 * the training carries). No cell-specific code: the tables say where each axis is. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"

/* Reorders one row-major tensor of `elem` bytes per entry in place through `tmp` (size entries):
 * along every axis k whose tag is `axis`, position i receives the entry at perm[i]. */
static void permute_tensor(const mem_tensor_spec *t, const char *axis, const int64_t *perm, void *data,
                           size_t elem, void *tmp) {
    int hit[MEM_MAX_NDIM] = {0};
    int64_t stride[MEM_MAX_NDIM];
    int64_t acc = 1;
    for (int k = t->ndim - 1; k >= 0; k--) {
        stride[k] = acc;
        acc *= t->shape[k];
        hit[k] = strcmp(t->axes[k], axis) == 0;
    }
    memcpy(tmp, data, (size_t)t->size * elem);
    int64_t idx[MEM_MAX_NDIM] = {0};
    for (int64_t dst = 0; dst < t->size; dst++) {
        int64_t src = 0;
        for (int k = 0; k < t->ndim; k++) src += (hit[k] ? perm[idx[k]] : idx[k]) * stride[k];
        memcpy((char *)data + (size_t)dst * elem, (const char *)tmp + (size_t)src * elem, elem);
        for (int k = t->ndim - 1; k >= 0; k--) { /* odometer over the multi-index */
            if (++idx[k] < t->shape[k]) break;
            idx[k] = 0;
        }
    }
}

static int has_axis(const mem_tensor_spec *t, const char *axis) {
    for (int k = 0; k < t->ndim; k++)
        if (strcmp(t->axes[k], axis) == 0) return 1;
    return 0;
}

/* The size of `axis` in the parameter table, after checking every occurrence is permutable and of
 * one size; 0 when no parameter carries it. */
static mem_status axis_size(const mem_model *m, const char *axis, int64_t *size) {
    *size = 0;
    for (int i = 0; i < m->arch.n_params; i++) {
        const mem_tensor_spec *t = &m->arch.params[i];
        for (int k = 0; k < t->ndim; k++) {
            if (strcmp(t->axes[k], axis) != 0) continue;
            if (!t->permutable[k])
                return mem_fail(MEM_ERR_ARG, "mem_model_permute: axis '%s' is not a permutation symmetry of this %s "
                                             "model (axis %d of '%s' is not permutable)", axis, m->kind->name, k,
                                t->name);
            if (*size && *size != t->shape[k])
                return mem_fail(MEM_ERR_ARG, "mem_model_permute: axis '%s' has sizes %lld and %lld", axis,
                                (long long)*size, (long long)t->shape[k]);
            *size = t->shape[k];
        }
    }
    return MEM_OK;
}

mem_status mem_model_permute(mem_model *m, const char *axis, const int64_t *perm, int64_t n) {
    const char *fn = "mem_model_permute";
    MEM_REQUIRE_ARG(m, fn);
    MEM_REQUIRE_ARG(axis, fn);
    MEM_REQUIRE_ARG(perm, fn);
    int64_t size = 0;
    MEM_CHECK(axis_size(m, axis, &size));
    if (size == 0)
        return mem_fail(MEM_ERR_ARG, "%s: no parameter of this %s model has an axis '%s' (permutable axes are "
                                     "tagged H or M)", fn, m->kind->name, axis);
    if (n != size)
        return mem_fail(MEM_ERR_SHAPE, "%s: n=%lld, axis '%s' has %lld units", fn, (long long)n, axis,
                        (long long)size);
    uint8_t *seen = calloc((size_t)n, 1);
    if (!seen) return mem_fail(MEM_ERR_NOMEM, "%s: out of memory", fn);
    for (int64_t i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) {
            free(seen);
            return mem_fail(MEM_ERR_ARG, "%s: perm[%lld]=%lld is %s (perm must be a permutation of 0..%lld)", fn,
                            (long long)i, (long long)perm[i], perm[i] < 0 || perm[i] >= n ? "out of range" : "repeated",
                            (long long)(n - 1));
        }
        seen[perm[i]] = 1;
    }
    free(seen);
    int64_t largest = 1;
    for (int i = 0; i < m->arch.n_params; i++) largest = m->arch.params[i].size > largest ? m->arch.params[i].size : largest;
    for (int i = 0; i < m->arch.n_states; i++) largest = m->arch.states[i].size > largest ? m->arch.states[i].size : largest;
    float *tmp = malloc((size_t)largest * sizeof *tmp);
    if (!tmp) return mem_fail(MEM_ERR_NOMEM, "%s: out of memory", fn);
    for (int i = 0; i < m->arch.n_params; i++) {
        const mem_tensor_spec *t = &m->arch.params[i];
        if (!has_axis(t, axis)) continue;
        permute_tensor(t, axis, perm, m->net.w + t->offset, sizeof(float), tmp);
        if (m->opt_m) permute_tensor(t, axis, perm, m->opt_m + t->offset, sizeof(float), tmp);
        if (m->opt_v) permute_tensor(t, axis, perm, m->opt_v + t->offset, sizeof(float), tmp);
        if (m->frozen) permute_tensor(t, axis, perm, m->frozen + t->offset, 1, tmp);
    }
    for (int i = 0; i < m->arch.n_states; i++) {
        const mem_tensor_spec *t = &m->arch.states[i];
        if (!has_axis(t, axis)) continue;
        permute_tensor(t, axis, perm, m->memory + t->offset, sizeof(float), tmp);
        for (int64_t c = 0; c < m->carry_n_sub; c++)
            permute_tensor(t, axis, perm, m->carry + c * m->arch.state_dim + t->offset, sizeof(float), tmp);
    }
    free(tmp);
    return MEM_OK;
}
