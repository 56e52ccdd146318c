/* Model lifetime, parameter and state tables, freezing, diagnostics, live training settings. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

#define MAX_IO_SIZE (1 << 24) /* inputs or outputs per step */

mem_status mem_model_layout(const mem_config *cfg, int64_t n_inputs, int64_t n_outputs, mem_arch *a) {
    if (n_inputs < 1 || n_inputs > MAX_IO_SIZE)
        return mem_fail(MEM_ERR_ARG, "mem_model_create: n_inputs=%lld is out of range [1, %d]", (long long)n_inputs,
                        MAX_IO_SIZE);
    if (n_outputs < 1 || n_outputs > MAX_IO_SIZE)
        return mem_fail(MEM_ERR_ARG, "mem_model_create: n_outputs=%lld is out of range [1, %d]",
                        (long long)n_outputs, MAX_IO_SIZE);
    memset(a, 0, sizeof *a);
    a->n_inputs = n_inputs;
    a->n_outputs = n_outputs;
    a->hidden = (int64_t)mem_config_value(cfg, "hidden_size");
    a->loss = (int)mem_config_value(cfg, "loss");
    a->skip = mem_config_value(cfg, "skip") != 0;
    a->output_memory = mem_config_value(cfg, "output_memory") != 0;
    a->output_beta = mem_config_value(cfg, "output_beta");
    if (a->loss == MEM_LOSS_CE && n_outputs < 2)
        return mem_fail(MEM_ERR_ARG, "mem_model_create: loss=cross_entropy needs n_outputs >= 2 classes, got %lld",
                        (long long)n_outputs);
    MEM_CHECK(cfg->kind->layout(cfg, a));
    MEM_CHECK(mem_readout_layout(a));
    /* Sizes beyond what an int64 element count and a float buffer can index are refused here,
     * before anything is allocated. */
    if (a->n_weights > ((int64_t)1 << 40))
        return mem_fail(MEM_ERR_ARG, "mem_model_create: %lld parameters is more than supported (2^40)",
                        (long long)a->n_weights);
    return MEM_OK;
}

void mem_model_apply_train_config(mem_model *m) {
    m->net.n_threads = (int)mem_config_value(&m->cfg, "n_threads");
}

mem_status mem_model_alloc(const mem_config *cfg, const mem_arch *arch, mem_model **out) {
    mem_model *m = calloc(1, sizeof *m);
    if (!m) return mem_fail(MEM_ERR_NOMEM, "mem_model_create: out of memory");
    m->kind = cfg->kind;
    m->cfg = *cfg;
    m->arch = *arch;
    m->ops = cfg->kind->ops_f32;
    m->net.arch = &m->arch;
    m->net.w = mem_alloc_zeroed((size_t)arch->n_weights, sizeof(float));
    m->net.g = mem_alloc_zeroed((size_t)arch->n_weights, sizeof(float));
    m->memory = mem_alloc_zeroed((size_t)arch->state_dim, sizeof(float));
    if (!m->net.w || !m->net.g || !m->memory) {
        mem_model_free(m);
        return mem_fail(MEM_ERR_NOMEM, "mem_model_create: cannot allocate %lld parameters",
                        (long long)arch->n_weights);
    }
    mem_rng_init(&m->rng, (uint64_t)mem_config_value(cfg, "seed"));
    mem_model_apply_train_config(m);
    *out = m;
    return MEM_OK;
}

/* A random orthogonal n x n matrix times `scale`: Gram-Schmidt (twice, for stability) on a
 * Gaussian matrix, in double. Returns 0 when out of memory. */
static int init_orthogonal(mem_rng *rng, int64_t n, double scale, float *out) {
    double *q = malloc((size_t)(n * n) * sizeof *q);
    if (!q) return 0;
    for (int64_t i = 0; i < n * n; i++) q[i] = mem_rng_normal(rng);
    for (int64_t r = 0; r < n; r++) {
        double *row = q + r * n;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t k = 0; k < r; k++) {
                const double *prev = q + k * n;
                double dot = 0;
                for (int64_t j = 0; j < n; j++) dot += row[j] * prev[j];
                for (int64_t j = 0; j < n; j++) row[j] -= dot * prev[j];
            }
        double norm = 0;
        for (int64_t j = 0; j < n; j++) norm += row[j] * row[j];
        norm = sqrt(norm);
        for (int64_t j = 0; j < n; j++) row[j] = norm > 0 ? row[j] / norm : (j == r);
    }
    for (int64_t i = 0; i < n * n; i++) out[i] = (float)(scale * q[i]);
    free(q);
    return 1;
}

mem_status mem_model_init_weights(mem_model *m) {
    const mem_arch *a = &m->arch;
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        float *w = m->net.w + s->offset;
        /* square matrices, or a stack of them (one per head): each one orthogonal */
        const int64_t sq = s->ndim >= 2 ? s->shape[s->ndim - 1] : 0;
        if (s->init == MEM_INIT_ORTHOGONAL && s->ndim >= 2 && s->shape[s->ndim - 2] == sq) {
            for (int64_t off = 0; off < s->size; off += sq * sq)
                if (!init_orthogonal(&m->rng, sq, s->init_a, w + off))
                    return mem_fail(MEM_ERR_NOMEM, "mem_model_create: cannot allocate the %lld x %lld scratch of the "
                                                   "orthogonal initialisation of '%s'",
                                    (long long)sq, (long long)sq, s->name);
            continue;
        }
        const double fan_in = s->ndim >= 2 ? (double)s->shape[s->ndim - 1] : 1.0;
        const double fan_out = s->ndim >= 2 ? (double)s->shape[s->ndim - 2] : (double)s->shape[0];
        const double glorot = sqrt(6.0 / (fan_in + fan_out));
        const double logit = s->init == MEM_INIT_LOGIT_SPREAD ? log(s->init_a / (1.0 - s->init_a)) : 0.0;
        for (int64_t i = 0; i < s->size; i++) {
            double v = 0.0;
            switch (s->init) {
            case MEM_INIT_ZERO: v = 0.0; break;
            case MEM_INIT_CONST: v = s->init_a; break;
            case MEM_INIT_GLOROT:
            case MEM_INIT_ORTHOGONAL: v = glorot * (2.0 * mem_rng_uniform(&m->rng) - 1.0); break;
            case MEM_INIT_NORMAL: v = s->init_a * mem_rng_normal(&m->rng); break;
            case MEM_INIT_LOGIT_SPREAD:
                v = logit + (s->init_b > 0 ? s->init_b * (2.0 * mem_rng_uniform(&m->rng) - 1.0) : 0.0);
                break;
            case MEM_INIT_SOFTPLUS_INV: {
                const double rate = s->init_a + (s->init_b - s->init_a) * mem_rng_uniform(&m->rng);
                v = log(expm1(rate)); /* softplus(v) = rate */
                break;
            }
            case MEM_INIT_IDENTITY: v = sq > 0 && (i % (sq * sq)) / sq == i % sq; break;
            case MEM_INIT_LOGIT_TABLE: {
                const double rate = a->init_table[(int64_t)s->init_a + i];
                v = log(rate / (1.0 - rate));
                break;
            }
            case MEM_INIT_LRU_NU: {
                const double lo = log(1.0 - s->init_b), hi = log(1.0 - s->init_a);
                const double gap = exp(lo + (hi - lo) * mem_rng_uniform(&m->rng)); /* 1 - Lambda */
                v = log(-log1p(-gap));                                               /* nu */
                break;
            }
            }
            w[i] = (float)v;
        }
    }
    return MEM_OK;
}

mem_status mem_model_create(const mem_config *cfg, int64_t n_inputs, int64_t n_outputs, mem_model **out) {
    MEM_REQUIRE_ARG(out, "mem_model_create");
    *out = NULL;
    MEM_REQUIRE_ARG(cfg, "mem_model_create");
    mem_arch arch;
    MEM_CHECK(mem_model_layout(cfg, n_inputs, n_outputs, &arch));
    mem_model *m;
    MEM_CHECK(mem_model_alloc(cfg, &arch, &m));
    mem_status s = mem_model_init_weights(m);
    if (s != MEM_OK) {
        mem_model_free(m);
        return s;
    }
    *out = m;
    return MEM_OK;
}

void mem_model_free(mem_model *m) {
    if (!m) return;
    mem_free_aligned(m->net.w);
    mem_free_aligned(m->net.g);
    mem_free_aligned(m->opt_m);
    mem_free_aligned(m->opt_v);
    free(m->frozen);
    mem_free_aligned(m->memory);
    mem_free_aligned(m->carry);
    free(m->metadata);
    mem_workspace_free_f32(&m->ws);
    free(m->batch);
    free(m->lanes);
    free(m);
}

static mem_status dup_floats(const float *src, int64_t n, float **dst) {
    *dst = NULL;
    if (!src) return MEM_OK;
    *dst = mem_alloc_zeroed((size_t)n, sizeof(float));
    if (!*dst) return mem_fail(MEM_ERR_NOMEM, "mem_model_clone: out of memory");
    memcpy(*dst, src, (size_t)n * sizeof(float));
    return MEM_OK;
}

mem_status mem_model_clone(const mem_model *src, mem_model **out) {
    MEM_REQUIRE_ARG(out, "mem_model_clone");
    *out = NULL;
    MEM_REQUIRE_ARG(src, "mem_model_clone");
    mem_model *m;
    MEM_CHECK(mem_model_alloc(&src->cfg, &src->arch, &m));
    const int64_t n = src->arch.n_weights;
    memcpy(m->net.w, src->net.w, (size_t)n * sizeof(float));
    memcpy(m->memory, src->memory, (size_t)src->arch.state_dim * sizeof(float));
    mem_status s = dup_floats(src->opt_m, n, &m->opt_m);
    if (s == MEM_OK) s = dup_floats(src->opt_v, n, &m->opt_v);
    if (s == MEM_OK) s = dup_floats(src->carry, src->carry_n_sub * src->arch.state_dim, &m->carry);
    if (s == MEM_OK && src->frozen) {
        m->frozen = malloc((size_t)n);
        if (!m->frozen) s = mem_fail(MEM_ERR_NOMEM, "mem_model_clone: out of memory");
        else memcpy(m->frozen, src->frozen, (size_t)n);
    }
    if (s == MEM_OK && src->metadata) {
        m->metadata = malloc(strlen(src->metadata) + 1);
        if (!m->metadata) s = mem_fail(MEM_ERR_NOMEM, "mem_model_clone: out of memory");
        else strcpy(m->metadata, src->metadata);
    }
    if (s != MEM_OK) {
        mem_model_free(m);
        return s;
    }
    m->opt_step = src->opt_step;
    m->carry_n_sub = src->carry_n_sub;
    m->carry_n_steps = src->carry_n_steps;
    m->rng = src->rng;
    memcpy(m->stats, src->stats, sizeof m->stats);
    m->stats_valid = src->stats_valid;
    m->epochs_trained = src->epochs_trained;
    m->updates = src->updates;
    m->fit_epoch = src->fit_epoch;
    *out = m;
    return MEM_OK;
}

const char *mem_model_kind(const mem_model *m) { return m ? m->kind->name : NULL; }
int64_t mem_model_n_inputs(const mem_model *m) { return m ? m->arch.n_inputs : -1; }
int64_t mem_model_n_outputs(const mem_model *m) { return m ? m->arch.n_outputs : -1; }

mem_status mem_model_get_config(const mem_model *m, mem_config **out) {
    MEM_REQUIRE_ARG(out, "mem_model_get_config");
    *out = NULL;
    MEM_REQUIRE_ARG(m, "mem_model_get_config");
    return mem_config_clone(&m->cfg, out);
}

/* ---- live training settings ---- */

static mem_status check_train_key(mem_model *m, const char *key, const char *fn) {
    MEM_REQUIRE_ARG(m, fn);
    MEM_REQUIRE_ARG(key, fn);
    int i = mem_config_index(m->kind, key);
    if (i < 0) return mem_config_unknown_key(m->kind, key, fn);
    if (mem_kind_param(m->kind, i)->table != MEM_TABLE_TRAIN)
        return mem_fail(MEM_ERR_STATE, "%s: '%s' is an architecture parameter, fixed once the model exists", fn, key);
    return MEM_OK;
}

mem_status mem_model_set_int(mem_model *m, const char *key, int64_t value) {
    MEM_CHECK(check_train_key(m, key, "mem_model_set_int"));
    MEM_CHECK(mem_config_set_number(&m->cfg, key, (double)value, "mem_model_set_int"));
    mem_model_apply_train_config(m);
    return MEM_OK;
}

mem_status mem_model_set_float(mem_model *m, const char *key, double value) {
    MEM_CHECK(check_train_key(m, key, "mem_model_set_float"));
    MEM_CHECK(mem_config_set_number(&m->cfg, key, value, "mem_model_set_float"));
    mem_model_apply_train_config(m);
    return MEM_OK;
}

mem_status mem_model_set_str(mem_model *m, const char *key, const char *value) {
    MEM_CHECK(check_train_key(m, key, "mem_model_set_str"));
    return mem_config_set_choice(&m->cfg, key, value, "mem_model_set_str");
}

mem_status mem_model_counter(const mem_model *m, const char *name, int64_t *out) {
    MEM_REQUIRE_ARG(m, "mem_model_counter");
    MEM_REQUIRE_ARG(name, "mem_model_counter");
    MEM_REQUIRE_ARG(out, "mem_model_counter");
    if (strcmp(name, "epochs_trained") == 0) *out = m->epochs_trained;
    else if (strcmp(name, "updates") == 0) *out = m->updates;
    else if (strcmp(name, "fit_epoch") == 0) *out = m->fit_epoch;
    else
        return mem_fail(MEM_ERR_ARG, "mem_model_counter: unknown counter '%s' (known: epochs_trained, updates, fit_epoch)",
                        name);
    return MEM_OK;
}

/* ---- memory state ---- */

mem_status mem_model_reset_memory(mem_model *m) {
    MEM_REQUIRE_ARG(m, "mem_model_reset_memory");
    memset(m->memory, 0, (size_t)m->arch.state_dim * sizeof(float));
    m->stats_valid = 0;
    return MEM_OK;
}

mem_status mem_model_consolidate(mem_model *m, double rate) {
    MEM_REQUIRE_ARG(m, "mem_model_consolidate");
    if (!m->kind->consolidate)
        return mem_fail(MEM_ERR_UNSUPPORTED, "mem_model_consolidate: kind '%s' has no plastic weights to consolidate",
                        m->kind->name);
    if (!(rate > 0 && rate <= 1))
        return mem_fail(MEM_ERR_ARG, "mem_model_consolidate: rate=%g is out of range; allowed range (0, 1]", rate);
    return m->kind->consolidate(&m->arch, m->net.w, m->frozen, m->memory, rate);
}

void mem_model_stats_begin(mem_model *m) {
    memset(m->stats, 0, sizeof m->stats);
    m->net.stats = m->arch.n_stats > 0 ? m->stats : NULL;
}

void mem_model_stats_end(mem_model *m, int ok) {
    m->net.stats = NULL;
    m->stats_valid = ok && m->arch.n_stats > 0;
}

mem_status mem_model_reset_training_state(mem_model *m) {
    MEM_REQUIRE_ARG(m, "mem_model_reset_training_state");
    mem_free_aligned(m->opt_m);
    mem_free_aligned(m->opt_v);
    mem_free_aligned(m->carry);
    m->opt_m = m->opt_v = m->carry = NULL;
    m->opt_step = 0;
    m->carry_n_sub = m->carry_n_steps = 0;
    m->epochs_trained = m->updates = m->fit_epoch = 0;
    return MEM_OK;
}

int64_t mem_model_state_count(const mem_model *m) { return m ? m->arch.n_states : -1; }

static mem_status tensor_info(const mem_tensor_spec *s, const char **name, int *ndim, int64_t *shape,
                              const char **axes, int *permutable) {
    if (name) *name = s->name;
    if (ndim) *ndim = s->ndim;
    for (int k = 0; k < MEM_MAX_NDIM; k++) {
        if (shape) shape[k] = k < s->ndim ? s->shape[k] : 0;
        if (axes) axes[k] = k < s->ndim ? s->axes[k] : NULL;
        if (permutable) permutable[k] = k < s->ndim ? s->permutable[k] : 0;
    }
    return MEM_OK;
}

static mem_status check_index(int64_t index, int64_t n, const char *fn) {
    if (index < 0 || index >= n)
        return mem_fail(MEM_ERR_ARG, "%s: index=%lld is out of range [0, %lld)", fn, (long long)index, (long long)n);
    return MEM_OK;
}

mem_status mem_model_state_info(const mem_model *m, int64_t index, const char **name, int *ndim, int64_t *shape,
                                const char **axes) {
    MEM_REQUIRE_ARG(m, "mem_model_state_info");
    MEM_CHECK(check_index(index, m->arch.n_states, "mem_model_state_info"));
    return tensor_info(&m->arch.states[index], name, ndim, shape, axes, NULL);
}

mem_status mem_model_state_data(mem_model *m, int64_t index, float **data) {
    MEM_REQUIRE_ARG(m, "mem_model_state_data");
    MEM_REQUIRE_ARG(data, "mem_model_state_data");
    MEM_CHECK(check_index(index, m->arch.n_states, "mem_model_state_data"));
    *data = m->memory + m->arch.states[index].offset;
    return MEM_OK;
}

mem_status mem_model_state_size(const mem_model *m, int64_t *n_bytes) {
    MEM_REQUIRE_ARG(m, "mem_model_state_size");
    MEM_REQUIRE_ARG(n_bytes, "mem_model_state_size");
    *n_bytes = m->arch.state_dim * (int64_t)sizeof(float);
    return MEM_OK;
}

mem_status mem_model_get_state(const mem_model *m, void *buf, int64_t capacity) {
    MEM_REQUIRE_ARG(m, "mem_model_get_state");
    MEM_REQUIRE_ARG(buf, "mem_model_get_state");
    const int64_t need = m->arch.state_dim * (int64_t)sizeof(float);
    if (capacity < need)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_get_state: capacity=%lld bytes, the state needs %lld",
                        (long long)capacity, (long long)need);
    memcpy(buf, m->memory, (size_t)need);
    return MEM_OK;
}

mem_status mem_model_set_state(mem_model *m, const void *buf, int64_t n_bytes) {
    MEM_REQUIRE_ARG(m, "mem_model_set_state");
    MEM_REQUIRE_ARG(buf, "mem_model_set_state");
    const int64_t need = m->arch.state_dim * (int64_t)sizeof(float);
    if (n_bytes != need)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_set_state: n_bytes=%lld, the state is %lld bytes", (long long)n_bytes,
                        (long long)need);
    const float *v = buf;
    for (int64_t i = 0; i < m->arch.state_dim; i++)
        if (!isfinite(v[i]))
            return mem_fail(MEM_ERR_ARG, "mem_model_set_state: state value %lld is %g (must be finite)", (long long)i,
                            (double)v[i]);
    memcpy(m->memory, buf, (size_t)need);
    return MEM_OK;
}

/* ---- parameters and freezing ---- */

int64_t mem_model_param_count(const mem_model *m) { return m ? m->arch.n_params : -1; }

mem_status mem_model_param_info(const mem_model *m, int64_t index, const char **name, int *ndim, int64_t *shape,
                                const char **axes, int *permutable, int *trainable) {
    MEM_REQUIRE_ARG(m, "mem_model_param_info");
    MEM_CHECK(check_index(index, m->arch.n_params, "mem_model_param_info"));
    if (trainable) *trainable = m->arch.params[index].trainable;
    return tensor_info(&m->arch.params[index], name, ndim, shape, axes, permutable);
}

mem_status mem_model_find_tensor(const mem_model *m, const char *name, const char *fn, int *index) {
    MEM_REQUIRE_ARG(m, fn);
    MEM_REQUIRE_ARG(name, fn);
    *index = mem_arch_find_param(&m->arch, name);
    if (*index < 0) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (int i = 0; i < m->arch.n_params && used + 40 < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", m->arch.params[i].name);
        return mem_fail(MEM_ERR_ARG, "%s: no parameter '%s' in this %s model (known: %s)", fn, name, m->kind->name,
                        names);
    }
    return MEM_OK;
}

mem_status mem_model_param_find(const mem_model *m, const char *name, int64_t *index) {
    int i = -1;
    MEM_REQUIRE_ARG(index, "mem_model_param_find");
    MEM_CHECK(mem_model_find_tensor(m, name, "mem_model_param_find", &i));
    *index = i;
    return MEM_OK;
}

mem_status mem_model_param_data(mem_model *m, int64_t index, float **data) {
    MEM_REQUIRE_ARG(m, "mem_model_param_data");
    MEM_REQUIRE_ARG(data, "mem_model_param_data");
    MEM_CHECK(check_index(index, m->arch.n_params, "mem_model_param_data"));
    *data = m->net.w + m->arch.params[index].offset;
    return MEM_OK;
}

mem_status mem_model_freeze(mem_model *m, const char *param, const uint8_t *mask, int64_t n) {
    int i = -1;
    MEM_CHECK(mem_model_find_tensor(m, param, "mem_model_freeze", &i));
    MEM_REQUIRE_ARG(mask, "mem_model_freeze");
    const mem_tensor_spec *s = &m->arch.params[i];
    if (n != s->size)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_freeze: mask for '%s' has n=%lld entries, the tensor has %lld", param,
                        (long long)n, (long long)s->size);
    if (!m->frozen) {
        m->frozen = calloc((size_t)m->arch.n_weights, 1);
        if (!m->frozen) return mem_fail(MEM_ERR_NOMEM, "mem_model_freeze: out of memory");
    }
    for (int64_t k = 0; k < n; k++) m->frozen[s->offset + k] = mask[k] != 0;
    return MEM_OK;
}

mem_status mem_model_frozen(const mem_model *m, const char *param, uint8_t *mask, int64_t capacity) {
    int i = -1;
    MEM_CHECK(mem_model_find_tensor(m, param, "mem_model_frozen", &i));
    MEM_REQUIRE_ARG(mask, "mem_model_frozen");
    const mem_tensor_spec *s = &m->arch.params[i];
    if (capacity < s->size)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_frozen: capacity=%lld, '%s' has %lld entries", (long long)capacity,
                        param, (long long)s->size);
    for (int64_t k = 0; k < s->size; k++) mask[k] = m->frozen ? m->frozen[s->offset + k] : 0;
    return MEM_OK;
}

mem_status mem_model_unfreeze_all(mem_model *m) {
    MEM_REQUIRE_ARG(m, "mem_model_unfreeze_all");
    free(m->frozen);
    m->frozen = NULL;
    return MEM_OK;
}

/* ---- diagnostics ---- */

int64_t mem_model_diag_count(const mem_model *m) { return m ? m->kind->n_diags : -1; }

mem_status mem_model_diag(const mem_model *m, int64_t index, const char **name, double *values, int64_t capacity,
                          int64_t *n_values) {
    MEM_REQUIRE_ARG(m, "mem_model_diag");
    MEM_REQUIRE_ARG(n_values, "mem_model_diag");
    MEM_CHECK(check_index(index, m->kind->n_diags, "mem_model_diag"));
    if (capacity > 0 && !values) return mem_fail(MEM_ERR_ARG, "mem_model_diag: values is NULL with capacity %lld",
                                                 (long long)capacity);
    if (name) *name = m->kind->diag_names[index];
    return m->kind->diag(&m->arch, m->net.w, m->memory, m->stats_valid ? m->stats : NULL, (int)index, values,
                         capacity, n_values);
}

/* ---- shared helpers ---- */

mem_status mem_model_ensure_carry(mem_model *m, int64_t n_sub, int64_t n_steps) {
    if (m->carry && m->carry_n_sub == n_sub && m->carry_n_steps == n_steps) return MEM_OK;
    mem_free_aligned(m->carry);
    m->carry = mem_alloc_zeroed((size_t)(n_sub * m->arch.state_dim), sizeof(float));
    m->carry_n_sub = m->carry ? n_sub : 0;
    m->carry_n_steps = m->carry ? n_steps : 0;
    return m->carry ? MEM_OK : mem_fail(MEM_ERR_NOMEM, "cannot allocate sub-stream carries");
}

mem_status mem_model_ensure_optimizer(mem_model *m) {
    if (!m->opt_m) m->opt_m = mem_alloc_zeroed((size_t)m->arch.n_weights, sizeof(float));
    if (!m->opt_v) m->opt_v = mem_alloc_zeroed((size_t)m->arch.n_weights, sizeof(float));
    if (!m->opt_m || !m->opt_v) return mem_fail(MEM_ERR_NOMEM, "cannot allocate optimizer state");
    return MEM_OK;
}

int64_t mem_model_segment_length(const mem_model *m, int64_t B) {
    const double budget = mem_config_value(&m->cfg, "max_cache_mb") * 1048576.0;
    const double per_step = (double)mem_window_reals_per_step_f32(&m->arch, B) * sizeof(float);
    const double steps = floor(budget / per_step);
    return steps < 1 ? 1 : (steps > 1e15 ? 0 : (int64_t)steps);
}

mem_status mem_model_reserve_batch(mem_model *m, int64_t reals, int64_t lanes) {
    if (reals > m->batch_cap) {
        float *p = realloc(m->batch, (size_t)reals * sizeof *p);
        if (!p) return mem_fail(MEM_ERR_NOMEM, "training: cannot allocate %lld bytes of minibatch buffers",
                                (long long)(reals * 4));
        m->batch = p;
        m->batch_cap = reals;
    }
    if (lanes > m->lanes_cap) {
        int64_t *p = realloc(m->lanes, (size_t)lanes * sizeof *p);
        if (!p) return mem_fail(MEM_ERR_NOMEM, "training: cannot allocate %lld lane indices", (long long)lanes);
        m->lanes = p;
        m->lanes_cap = lanes;
    }
    return MEM_OK;
}
