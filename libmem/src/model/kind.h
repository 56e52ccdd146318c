/* A model kind (cell): its configuration table, how it lays out parameters and state, its
 * diagnostics and its numerical ops. The registry (cells/registry.c) is the single list of kinds. */
#ifndef MEM_MODEL_KIND_H
#define MEM_MODEL_KIND_H

#include "libmem/libmem.h"
#include "model/arch.h"
#include "model/net.h"

#define MEM_MAX_CONFIG_PARAMS 48

typedef struct mem_param_def {
    const char *name;
    mem_param_type type;
    mem_param_table table;
    double default_value, min_value, max_value;
    int bounds;            /* MEM_BOUND_* */
    const char *choices;   /* "a|b|c" for MEM_PARAM_CHOICE */
    const char *doc;
} mem_param_def;

typedef struct mem_kind {
    const char *name;
    const char *doc;
    const mem_param_def *params;   /* the cell's own parameters (the common ones come first) */
    int n_params;
    double default_learning_rate;
    int default_skip;
    /* Registers the cell's parameters and state (arch->hidden, n_inputs, n_outputs already set). */
    mem_status (*layout)(const mem_config *cfg, mem_arch *arch);
    const char *const *diag_names;
    int n_diags;
    /* Diagnostic `index` from the parameters w, the stored memory (one lane) and the statistics of
     * the last training or prediction call (arch->n_stats sums; NULL after reset_memory, before
     * any call, and for a loaded model). */
    mem_status (*diag)(const mem_arch *arch, const float *w, const float *memory, const double *stats, int index,
                       double *values, int64_t capacity, int64_t *n_values);
    const mem_cell_ops_f32 *ops_f32;
    /* Optional (NULL: the kind has no plastic state): folds `rate` (0 < rate <= 1) of the fast
     * plastic weights held in the stored memory into the slow weights w, keeping the effective
     * weights unchanged; entries frozen in `frozen` (n_weights bytes or NULL) are left alone. */
    mem_status (*consolidate)(const mem_arch *arch, float *w, const uint8_t *frozen, float *memory, double rate);
} mem_kind;

/* The registry. */
const mem_kind *mem_kind_find(const char *name);
int64_t mem_kind_count(void);
const mem_kind *mem_kind_at(int64_t i);

/* Parameter i of a kind's full table (common parameters, then the kind's), NULL past the end. */
const mem_param_def *mem_kind_param(const mem_kind *kind, int64_t i);
int64_t mem_kind_param_total(const mem_kind *kind);

/* Array (MEM_PARAM_FLOATS) parameters: at most this many per kind, of at most this many values. */
#define MEM_MAX_CONFIG_ARRAYS 2
#define MEM_MAX_ARRAY_LEN 64

/* Configuration values (internal view of mem_config). An array parameter's entry in `values` is
 * its length, 0 meaning "not set": the kind derives the default from other parameters (e.g. one
 * value per head); its values are in arrays[slot], slot = its rank among the kind's arrays. */
struct mem_config {
    const mem_kind *kind;
    double values[MEM_MAX_CONFIG_PARAMS];
    double arrays[MEM_MAX_CONFIG_ARRAYS][MEM_MAX_ARRAY_LEN];
};
/* The values of array parameter `key` (known to exist) and their count (*n = 0: not set). */
const double *mem_config_array(const mem_config *cfg, const char *key, int64_t *n);
/* The value of a parameter known to exist (choices: the index of the choice). */
double mem_config_value(const mem_config *cfg, const char *key);
/* Index of `key` in the kind's full table, or -1. */
int mem_config_index(const mem_kind *kind, const char *key);
/* Sets a value after validation against the table (error messages name key, value and range). */
mem_status mem_config_set_value(mem_config *cfg, const char *key, double value, const char *fn);
void mem_config_defaults(mem_config *cfg, const mem_kind *kind);
/* The typed setters behind the public ones, with the caller's function name in messages. */
mem_status mem_config_set_number(mem_config *cfg, const char *key, double value, const char *fn);
mem_status mem_config_set_choice(mem_config *cfg, const char *key, const char *value, const char *fn);
/* MEM_ERR_ARG for a key the kind does not have, listing the known keys. */
mem_status mem_config_unknown_key(const mem_kind *kind, const char *key, const char *fn);

extern const mem_kind mem_kind_amrc;
extern const mem_kind mem_kind_pmrc;
extern const mem_kind mem_kind_amn;
extern const mem_kind mem_kind_ndm;
extern const mem_kind mem_kind_sgw_amn;
extern const mem_kind mem_kind_dtpn;
extern const mem_kind mem_kind_hyper_amn;

#endif
