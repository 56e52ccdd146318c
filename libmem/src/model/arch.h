/* The type-independent description of a model: its parameter and state tables, as the cell and
 * the readout register them. Generic code (optimizer, freezing, saving, views, the window engine)
 * walks these tables; no cell writes those by hand. */
#ifndef MEM_MODEL_ARCH_H
#define MEM_MODEL_ARCH_H

#include <stdint.h>

#include "libmem/libmem.h"

#define MEM_MAX_TENSORS 32
#define MEM_MAX_NDIM 4
#define MEM_NAME_LEN 32

/* How a parameter tensor is initialised (init_a / init_b are the kind's numbers). */
typedef enum mem_init {
    MEM_INIT_ZERO = 0,
    MEM_INIT_CONST,        /* init_a */
    MEM_INIT_GLOROT,       /* uniform ±sqrt(6 / (fan_in + fan_out)), fans = last two dims */
    MEM_INIT_NORMAL,       /* N(0, init_a^2) */
    MEM_INIT_LOGIT_SPREAD, /* logit(init_a) + U(-init_b, init_b) per entry (init_b = 0: exact) */
    MEM_INIT_ORTHOGONAL,   /* a random orthogonal square matrix times init_a */
    MEM_INIT_SOFTPLUS_INV, /* v with softplus(v) ~ U[init_a, init_b] (positive rates) */
    MEM_INIT_LRU_NU,       /* nu with Lambda = exp(-exp(nu)) and 1 - Lambda log-uniform in
                              [1 - init_b, 1 - init_a] (init_a = lru_min, init_b = lru_max) */
    MEM_INIT_LOGIT_TABLE,  /* entry i = logit(init_table[init_a + i]): per-entry rates from the
                              config (e.g. one manifold decay per head) */
    MEM_INIT_IDENTITY      /* 1 on the diagonal of the last two (equal) axes, 0 elsewhere */
} mem_init;

#define MEM_MAX_INIT_TABLE 128
#define MEM_MAX_STATS 32

typedef struct mem_tensor_spec {
    char name[MEM_NAME_LEN];
    int ndim;
    int64_t shape[MEM_MAX_NDIM];
    char axes[MEM_MAX_NDIM][8];
    int permutable[MEM_MAX_NDIM];
    int trainable;   /* receives gradients and updates */
    int decay;       /* weight decay applies (matrices, not biases or per-unit rates) */
    mem_init init;
    double init_a, init_b;
    int64_t offset;  /* into the model's flat parameter (or per-lane state) buffer */
    int64_t size;    /* product of shape */
} mem_tensor_spec;

typedef struct mem_arch {
    int64_t n_inputs, n_outputs, hidden;
    int loss;                 /* MEM_LOSS_* */
    int output_memory, skip;
    double output_beta;
    /* parameters: the cell's, then the readout's */
    mem_tensor_spec params[MEM_MAX_TENSORS];
    int n_params, n_cell_params;
    int64_t n_weights;        /* total parameter entries */
    /* per-lane state: the cell's tensors, then the readout's (output memory) */
    mem_tensor_spec states[MEM_MAX_TENSORS];
    int n_states, n_cell_states;
    int64_t state_dim, cell_state_dim;
    /* per-lane, per-step work sizes the cell declares for the window engine (in reals) */
    int64_t proj_per_step;     /* hoisted input projection */
    int64_t per_window;        /* values derived from the parameters once per window */
    int64_t extra_per_step;    /* forward cache besides the states */
    int64_t bwd_per_step;      /* backward scratch */
    int64_t grad_per_block;    /* per lane-block partial sums of per-unit gradients */
    int n_stats;               /* running sums the cell's ops->stats accumulates per call (<= MEM_MAX_STATS) */
    int ro_w, ro_b, ro_d, ro_beta; /* readout parameter indices (-1 when absent) */
    double hyper[8];           /* cell-specific numbers from the config (dt, ...) */
    double init_table[MEM_MAX_INIT_TABLE]; /* values of MEM_INIT_LOGIT_TABLE tensors */
    int n_init_table;
} mem_arch;

enum { MEM_LOSS_MSE = 0, MEM_LOSS_CE = 1 };

/* Lanes (independent streams or sequences of a minibatch) are processed in fixed blocks of this
 * many; per-block partial sums are added in block order, so results never depend on threads. */
#define MEM_LANE_BLOCK 8

/* Registration helpers used by cells and the readout. Return MEM_OK or MEM_ERR_ARG (table full). */
mem_status mem_arch_add_param(mem_arch *a, const char *name, int ndim, const int64_t *shape,
                              const char *const *axes, mem_init init, double init_a, double init_b,
                              int trainable, int decay);
mem_status mem_arch_add_state(mem_arch *a, const char *name, int ndim, const int64_t *shape,
                              const char *const *axes);
int mem_arch_find_param(const mem_arch *a, const char *name);
/* Appends n values to the arch's init table and writes where they start (for a tensor
 * registered with MEM_INIT_LOGIT_TABLE, init_a = *start); MEM_ERR_ARG when the table is full. */
mem_status mem_arch_add_init_values(mem_arch *a, const double *values, int n, int *start);
/* Registers the readout's parameters and state after the cell's (float build). */
mem_status mem_readout_layout(mem_arch *a);

#endif
