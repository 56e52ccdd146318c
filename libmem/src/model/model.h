/* The model object (float build): kind + configuration + arch tables + parameters, optimizer
 * state, freeze mask, memory, training carries and counters. */
#ifndef MEM_MODEL_MODEL_H
#define MEM_MODEL_MODEL_H

#include "core/rng.h"
#include "model/kind.h"
#include "model/net.h"

struct mem_model {
    const mem_kind *kind;
    mem_config cfg;
    mem_arch arch;
    mem_net_f32 net;           /* w and g are owned here */
    const mem_cell_ops_f32 *ops;
    float *opt_m, *opt_v;      /* AdamW moments or SGD velocity (opt_m) */
    int64_t opt_step;
    uint8_t *frozen;           /* n_weights bytes (1 = frozen) or NULL when nothing is frozen */
    float *memory;             /* the stored memory state of the stream, state_dim */
    float *carry;              /* sub-stream start states of the next epoch, carry_n_sub x state_dim */
    int64_t carry_n_sub, carry_n_steps;
    mem_rng rng;
    int64_t epochs_trained, updates, fit_epoch;
    double stats[MEM_MAX_STATS]; /* per-call statistics of the cell (arch.n_stats), see stats_valid */
    int stats_valid;           /* stats describe the last call; 0 after reset_memory */
    char *metadata;
    mem_workspace_f32 ws;
    /* gathered minibatch buffers, grown on demand */
    float *batch;
    int64_t batch_cap;
    int64_t *lanes;
    int64_t lanes_cap;
};

/* Builds the arch tables of `kind` for the given sizes (no allocation of weights). */
mem_status mem_model_layout(const mem_config *cfg, int64_t n_inputs, int64_t n_outputs, mem_arch *arch);
/* Allocates a model for a validated arch (weights zero, nothing initialised). */
mem_status mem_model_alloc(const mem_config *cfg, const mem_arch *arch, mem_model **out);
/* Initialises the weights from the model RNG as the specs say (MEM_ERR_NOMEM when the orthogonal
 * initialisation cannot get its scratch: never a silently different initialisation). */
mem_status mem_model_init_weights(mem_model *m);
/* Applies the TRAIN-table values of the model's config (thread count of the net). */
void mem_model_apply_train_config(mem_model *m);

/* Training-state helpers shared by train.c and io.c */
mem_status mem_model_ensure_carry(mem_model *m, int64_t n_sub, int64_t n_steps);
mem_status mem_model_ensure_optimizer(mem_model *m);

/* Statistics of a training or prediction call: begin zeroes them and lets the engine collect,
 * end stops collecting and marks them as the last call's. */
void mem_model_stats_begin(mem_model *m);
void mem_model_stats_end(mem_model *m, int ok);

/* Index of the parameter tensor `name`; MEM_ERR_ARG naming fn and listing the known names. */
mem_status mem_model_find_tensor(const mem_model *m, const char *name, const char *fn, int *index);

/* Cached steps per segment that keep a window of B lanes under max_cache_mb (0: no limit). */
int64_t mem_model_segment_length(const mem_model *m, int64_t B);

/* Grows the model's minibatch buffers to hold `reals` floats and `lanes` int64 values. */
mem_status mem_model_reserve_batch(mem_model *m, int64_t reals, int64_t lanes);

/* Validates a mem_data against the model (layout, sizes, finiteness); `need_y` for training. */
mem_status mem_data_check(const mem_model *m, const mem_data *d, int need_y, const char *fn);

#endif
