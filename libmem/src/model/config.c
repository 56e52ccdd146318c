/* Typed, validated configuration: the common table (readout, loss, seed, training) followed by
 * the kind's own table. Messages name the key, the value and the allowed range. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/kind.h"

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)

/* "learning_rate" default is replaced by the kind's; "skip" default by the kind's. */
static const mem_param_def common_params[] = {
    {"hidden_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 32, 1, 65536, 0, NULL, "number of hidden units H"},
    {"loss", MEM_PARAM_CHOICE, MEM_TABLE_ARCH, 0, 0, 1, 0, "mse|cross_entropy",
     "training loss: mean squared error, or softmax cross-entropy over the outputs (targets are class indices)"},
    {"skip", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 0, 0, 1, 0, NULL, "readout adds D x_t (a direct input path)"},
    {"output_memory", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 0, 0, 1, 0, NULL,
     "readout adds output_beta * (previous output), a learned per-output echo"},
    {"output_beta", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.2, 0, 1, OPEN_BOTH, NULL,
     "initial echo of the previous output when output_memory is on"},
    /* 2^53: every seed up to it is exact in the table's double values */
    {"seed", MEM_PARAM_INT, MEM_TABLE_ARCH, 0, 0, 9007199254740992.0, 0, NULL,
     "seed of the model's counter-based random numbers (initialisation, shuffling, freezing)"},
    {"learning_rate", MEM_PARAM_FLOAT, MEM_TABLE_TRAIN, 0.01, 0, 10, MEM_BOUND_MIN_OPEN, NULL,
     "base learning rate (the default is the kind's, from a sweep on the benchmark tasks)"},
    {"optimizer", MEM_PARAM_CHOICE, MEM_TABLE_TRAIN, 0, 0, 1, 0, "adamw|sgd",
     "AdamW (decoupled weight decay) or SGD with momentum (L2 in the gradient)"},
    {"momentum", MEM_PARAM_FLOAT, MEM_TABLE_TRAIN, 0.9, 0, 1, MEM_BOUND_MAX_OPEN, NULL, "SGD momentum"},
    {"weight_decay", MEM_PARAM_FLOAT, MEM_TABLE_TRAIN, 0.0, 0, 10, 0, NULL,
     "weight decay of matrices (biases and per-unit rates are not decayed)"},
    {"clip_norm", MEM_PARAM_FLOAT, MEM_TABLE_TRAIN, 1.0, 0, 1e30, 0, NULL,
     "clip the global L2 norm of the gradient to this value (0 = no clipping)"},
    {"lr_schedule", MEM_PARAM_CHOICE, MEM_TABLE_TRAIN, 0, 0, 1, 0, "cosine|constant",
     "cosine decays the learning rate to 2% over `epochs` epochs of a fit"},
    {"epochs", MEM_PARAM_INT, MEM_TABLE_TRAIN, 100, 1, 1e9, 0, NULL, "epochs of a fit (the schedule's length)"},
    {"batch_size", MEM_PARAM_INT, MEM_TABLE_TRAIN, 32, 1, 65536, 0, NULL,
     "sequences per minibatch; for a stream, the most sub-streams trained in parallel"},
    {"bptt", MEM_PARAM_INT, MEM_TABLE_TRAIN, 0, 0, 1e9, 0, NULL,
     "truncated BPTT window in steps (0 = 32 for streams, full length for sequences)"},
    {"n_threads", MEM_PARAM_INT, MEM_TABLE_TRAIN, 0, 0, 1024, 0, NULL, "threads (0 = OpenMP default)"},
    {"max_cache_mb", MEM_PARAM_FLOAT, MEM_TABLE_TRAIN, 1024, 0, 1e7, MEM_BOUND_MIN_OPEN, NULL,
     "above this cache size a window is checkpointed and recomputed during backward"},
};
#define N_COMMON ((int64_t)(sizeof common_params / sizeof common_params[0]))

int64_t mem_kind_param_total(const mem_kind *kind) { return N_COMMON + kind->n_params; }

const mem_param_def *mem_kind_param(const mem_kind *kind, int64_t i) {
    if (i < 0) return NULL;
    if (i < N_COMMON) return &common_params[i];
    if (i < N_COMMON + kind->n_params) return &kind->params[i - N_COMMON];
    return NULL;
}

static double kind_default(const mem_kind *kind, const mem_param_def *def) {
    if (strcmp(def->name, "learning_rate") == 0) return kind->default_learning_rate;
    if (strcmp(def->name, "skip") == 0) return kind->default_skip;
    return def->default_value;
}

int mem_config_index(const mem_kind *kind, const char *key) {
    if (!key) return -1;
    for (int64_t i = 0; i < mem_kind_param_total(kind); i++)
        if (strcmp(mem_kind_param(kind, i)->name, key) == 0) return (int)i;
    return -1;
}

double mem_config_value(const mem_config *cfg, const char *key) {
    int i = mem_config_index(cfg->kind, key);
    return i >= 0 ? cfg->values[i] : 0.0;
}

void mem_config_defaults(mem_config *cfg, const mem_kind *kind) {
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    for (int64_t i = 0; i < mem_kind_param_total(kind); i++)
        cfg->values[i] = kind_default(kind, mem_kind_param(kind, i));
}

static void describe_range(const mem_param_def *d, char *buf, size_t n) {
    if (d->type == MEM_PARAM_BOOL) {
        snprintf(buf, n, "0 or 1");
    } else {
        snprintf(buf, n, "%c%.17g, %.17g%c", (d->bounds & MEM_BOUND_MIN_OPEN) ? '(' : '[', d->min_value,
                 d->max_value, (d->bounds & MEM_BOUND_MAX_OPEN) ? ')' : ']');
    }
}

mem_status mem_config_unknown_key(const mem_kind *kind, const char *key, const char *fn) {
    char names[1024];
    size_t used = 0;
    names[0] = '\0';
    for (int64_t i = 0; i < mem_kind_param_total(kind) && used + 40 < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 mem_kind_param(kind, i)->name);
    return mem_fail(MEM_ERR_ARG, "%s: unknown parameter '%s' for kind '%s' (known: %s)", fn, key, kind->name, names);
}

mem_status mem_config_set_value(mem_config *cfg, const char *key, double value, const char *fn) {
    int i = mem_config_index(cfg->kind, key);
    if (i < 0) return mem_config_unknown_key(cfg->kind, key, fn);
    const mem_param_def *d = mem_kind_param(cfg->kind, i);
    char range[128];
    describe_range(d, range, sizeof range);
    if (!isfinite(value)) return mem_fail(MEM_ERR_ARG, "%s: %s=%g is not finite; allowed range %s", fn, key, value, range);
    if ((d->type == MEM_PARAM_INT || d->type == MEM_PARAM_BOOL) && value != floor(value))
        return mem_fail(MEM_ERR_ARG, "%s: %s=%.17g must be an integer in %s", fn, key, value, range);
    int below = (d->bounds & MEM_BOUND_MIN_OPEN) ? value <= d->min_value : value < d->min_value;
    int above = (d->bounds & MEM_BOUND_MAX_OPEN) ? value >= d->max_value : value > d->max_value;
    if (below || above)
        return mem_fail(MEM_ERR_ARG, "%s: %s=%.17g is out of range; allowed range %s", fn, key, value, range);
    cfg->values[i] = value;
    return MEM_OK;
}

/* ---- public API ---- */

mem_status mem_config_create(const char *kind, mem_config **out) {
    MEM_REQUIRE_ARG(out, "mem_config_create");
    *out = NULL;
    MEM_REQUIRE_ARG(kind, "mem_config_create");
    const mem_kind *k = mem_kind_find(kind);
    if (!k) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (int64_t i = 0; i < mem_kind_count() && used + 40 < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", mem_kind_at(i)->name);
        return mem_fail(MEM_ERR_ARG, "mem_config_create: unknown kind '%s' (known: %s)", kind, names);
    }
    mem_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return mem_fail(MEM_ERR_NOMEM, "mem_config_create: out of memory");
    mem_config_defaults(cfg, k);
    *out = cfg;
    return MEM_OK;
}

void mem_config_free(mem_config *cfg) { free(cfg); }

mem_status mem_config_clone(const mem_config *cfg, mem_config **out) {
    MEM_REQUIRE_ARG(out, "mem_config_clone");
    *out = NULL;
    MEM_REQUIRE_ARG(cfg, "mem_config_clone");
    mem_config *c = malloc(sizeof *c);
    if (!c) return mem_fail(MEM_ERR_NOMEM, "mem_config_clone: out of memory");
    *c = *cfg;
    *out = c;
    return MEM_OK;
}

const char *mem_config_kind(const mem_config *cfg) { return cfg ? cfg->kind->name : NULL; }

static mem_status typed_param(const mem_config *cfg, const char *key, const char *fn, const mem_param_def **d) {
    MEM_REQUIRE_ARG(cfg, fn);
    MEM_REQUIRE_ARG(key, fn);
    int i = mem_config_index(cfg->kind, key);
    if (i < 0) return mem_config_unknown_key(cfg->kind, key, fn);
    *d = mem_kind_param(cfg->kind, i);
    return MEM_OK;
}

static const char *type_name(mem_param_type t) {
    switch (t) {
    case MEM_PARAM_INT: return "int";
    case MEM_PARAM_FLOAT: return "float";
    case MEM_PARAM_BOOL: return "bool";
    case MEM_PARAM_CHOICE: return "choice";
    case MEM_PARAM_FLOATS: return "floats";
    }
    return "?";
}

mem_status mem_config_set_number(mem_config *cfg, const char *key, double value, const char *fn) {
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, fn, &d));
    if (d->type == MEM_PARAM_CHOICE || d->type == MEM_PARAM_FLOATS)
        return mem_fail(MEM_ERR_ARG, "%s: %s is a %s parameter", fn, key, type_name(d->type));
    return mem_config_set_value(cfg, key, value, fn);
}

mem_status mem_config_set_int(mem_config *cfg, const char *key, int64_t value) {
    return mem_config_set_number(cfg, key, (double)value, "mem_config_set_int");
}

mem_status mem_config_set_float(mem_config *cfg, const char *key, double value) {
    return mem_config_set_number(cfg, key, value, "mem_config_set_float");
}

mem_status mem_config_set_choice(mem_config *cfg, const char *key, const char *value, const char *fn) {
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, fn, &d));
    MEM_REQUIRE_ARG(value, fn);
    if (d->type != MEM_PARAM_CHOICE)
        return mem_fail(MEM_ERR_ARG, "%s: %s is a %s parameter, not a choice", fn, key, type_name(d->type));
    const char *p = d->choices;
    size_t vlen = strlen(value);
    for (int idx = 0; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0) return mem_config_set_value(cfg, key, idx, fn);
        if (!bar) break;
        p = bar + 1;
    }
    return mem_fail(MEM_ERR_ARG, "%s: %s='%s' is not one of %s", fn, key, value, d->choices);
}

mem_status mem_config_set_str(mem_config *cfg, const char *key, const char *value) {
    return mem_config_set_choice(cfg, key, value, "mem_config_set_str");
}

/* The slot in cfg->arrays of the array parameter at table index i: its rank among the arrays. */
static int array_slot(const mem_kind *kind, int i) {
    int slot = 0;
    for (int j = 0; j < i; j++) slot += mem_kind_param(kind, j)->type == MEM_PARAM_FLOATS;
    return slot;
}

const double *mem_config_array(const mem_config *cfg, const char *key, int64_t *n) {
    const int i = mem_config_index(cfg->kind, key);
    *n = i >= 0 ? (int64_t)cfg->values[i] : 0;
    return i >= 0 && *n > 0 ? cfg->arrays[array_slot(cfg->kind, i)] : NULL;
}

mem_status mem_config_set_floats(mem_config *cfg, const char *key, const double *values, int64_t n) {
    const char *fn = "mem_config_set_floats";
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, fn, &d));
    if (d->type != MEM_PARAM_FLOATS)
        return mem_fail(MEM_ERR_ARG, "%s: %s is a %s parameter, not an array", fn, key, type_name(d->type));
    if (n < 0 || n > MEM_MAX_ARRAY_LEN)
        return mem_fail(MEM_ERR_ARG, "%s: %s has %lld values; allowed 0 (the default) to %d", fn, key, (long long)n,
                        MEM_MAX_ARRAY_LEN);
    if (n > 0 && !values) return mem_fail(MEM_ERR_ARG, "%s: values is NULL for %lld values of %s", fn, (long long)n, key);
    const int i = mem_config_index(cfg->kind, key), slot = array_slot(cfg->kind, i);
    if (slot >= MEM_MAX_CONFIG_ARRAYS)
        return mem_fail(MEM_ERR_UNSUPPORTED, "%s: kind '%s' has more than %d array parameters", fn, cfg->kind->name,
                        MEM_MAX_CONFIG_ARRAYS);
    char range[128];
    describe_range(d, range, sizeof range);
    for (int64_t k = 0; k < n; k++) {
        const double v = values[k];
        int below = (d->bounds & MEM_BOUND_MIN_OPEN) ? v <= d->min_value : v < d->min_value;
        int above = (d->bounds & MEM_BOUND_MAX_OPEN) ? v >= d->max_value : v > d->max_value;
        if (!isfinite(v) || below || above)
            return mem_fail(MEM_ERR_ARG, "%s: %s[%lld]=%.17g is out of range; allowed range %s", fn, key, (long long)k,
                            v, range);
    }
    /* validated first: a rejected array leaves the previous one */
    for (int64_t k = 0; k < n; k++) cfg->arrays[slot][k] = values[k];
    for (int64_t k = n; k < MEM_MAX_ARRAY_LEN; k++) cfg->arrays[slot][k] = 0.0;
    cfg->values[i] = (double)n;
    return MEM_OK;
}

mem_status mem_config_get_floats(const mem_config *cfg, const char *key, double *values, int64_t capacity,
                                 int64_t *n) {
    const char *fn = "mem_config_get_floats";
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, fn, &d));
    MEM_REQUIRE_ARG(n, fn);
    if (d->type != MEM_PARAM_FLOATS)
        return mem_fail(MEM_ERR_ARG, "%s: %s is a %s parameter, not an array", fn, key, type_name(d->type));
    if (capacity < 0) return mem_fail(MEM_ERR_ARG, "%s: capacity=%lld is negative", fn, (long long)capacity);
    const double *src = mem_config_array(cfg, key, n);
    for (int64_t k = 0; values && k < *n && k < capacity; k++) values[k] = src[k];
    return MEM_OK;
}

mem_status mem_config_get_int(const mem_config *cfg, const char *key, int64_t *out) {
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, "mem_config_get_int", &d));
    MEM_REQUIRE_ARG(out, "mem_config_get_int");
    if (d->type == MEM_PARAM_FLOATS)
        return mem_fail(MEM_ERR_ARG, "mem_config_get_int: %s is a %s parameter", key, type_name(d->type));
    *out = (int64_t)mem_config_value(cfg, key);
    return MEM_OK;
}

mem_status mem_config_get_float(const mem_config *cfg, const char *key, double *out) {
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, "mem_config_get_float", &d));
    MEM_REQUIRE_ARG(out, "mem_config_get_float");
    if (d->type == MEM_PARAM_FLOATS)
        return mem_fail(MEM_ERR_ARG, "mem_config_get_float: %s is a %s parameter", key, type_name(d->type));
    *out = mem_config_value(cfg, key);
    return MEM_OK;
}

/* The n-th '|'-separated choice as a pointer into a read-only buffer of choice names. */
static const char *choice_name(const mem_param_def *d, int idx, char *buf, size_t cap) {
    const char *p = d->choices;
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '|');
        if (!p) return NULL;
        p++;
    }
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

mem_status mem_config_get_str(const mem_config *cfg, const char *key, const char **out) {
    const mem_param_def *d;
    MEM_CHECK(typed_param(cfg, key, "mem_config_get_str", &d));
    MEM_REQUIRE_ARG(out, "mem_config_get_str");
    if (d->type != MEM_PARAM_CHOICE)
        return mem_fail(MEM_ERR_ARG, "mem_config_get_str: %s is a %s parameter, not a choice", key, type_name(d->type));
    /* Thread-local so the pointer stays valid until this thread's next call. */
    static _Thread_local char buf[64];
    *out = choice_name(d, (int)mem_config_value(cfg, key), buf, sizeof buf);
    return MEM_OK;
}

int64_t mem_config_common_count(void) { return N_COMMON; }

int64_t mem_config_param_count(const char *kind) {
    const mem_kind *k = mem_kind_find(kind);
    return k ? mem_kind_param_total(k) : -1;
}

mem_status mem_config_param_info(const char *kind, int64_t index, const char **name, mem_param_type *type,
                                 mem_param_table *table, double *default_value, double *min_value,
                                 double *max_value, int *bounds, const char **choices, const char **doc) {
    MEM_REQUIRE_ARG(kind, "mem_config_param_info");
    const mem_kind *k = mem_kind_find(kind);
    if (!k) return mem_fail(MEM_ERR_ARG, "mem_config_param_info: unknown kind '%s'", kind);
    const mem_param_def *d = mem_kind_param(k, index);
    if (!d)
        return mem_fail(MEM_ERR_ARG, "mem_config_param_info: index %lld out of range [0, %lld)", (long long)index,
                        (long long)mem_kind_param_total(k));
    if (name) *name = d->name;
    if (type) *type = d->type;
    if (table) *table = d->table;
    if (default_value) *default_value = kind_default(k, d);
    if (min_value) *min_value = d->min_value;
    if (max_value) *max_value = d->max_value;
    if (bounds) *bounds = d->bounds;
    if (choices) *choices = d->choices;
    if (doc) *doc = d->doc;
    return MEM_OK;
}
