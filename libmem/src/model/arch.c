#include "arch.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

static int permutable_axis(const char *tag) {
    /* The hidden axis and manifold rows are symmetries of every model; inputs, outputs and heads
     * are not. */
    return strcmp(tag, "H") == 0 || strcmp(tag, "M") == 0;
}

static void fill_spec(mem_tensor_spec *s, const char *name, int ndim, const int64_t *shape,
                      const char *const *axes) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->size = 1;
    for (int k = 0; k < ndim; k++) {
        s->shape[k] = shape[k];
        snprintf(s->axes[k], sizeof s->axes[k], "%s", axes[k]);
        s->permutable[k] = permutable_axis(axes[k]);
        s->size *= shape[k];
    }
}

mem_status mem_arch_add_param(mem_arch *a, const char *name, int ndim, const int64_t *shape,
                              const char *const *axes, mem_init init, double init_a, double init_b,
                              int trainable, int decay) {
    if (a->n_params >= MEM_MAX_TENSORS) return mem_fail(MEM_ERR_ARG, "too many parameter tensors");
    mem_tensor_spec *s = &a->params[a->n_params++];
    fill_spec(s, name, ndim, shape, axes);
    s->init = init;
    s->init_a = init_a;
    s->init_b = init_b;
    s->trainable = trainable;
    s->decay = decay;
    s->offset = a->n_weights;
    a->n_weights += s->size;
    return MEM_OK;
}

mem_status mem_arch_add_state(mem_arch *a, const char *name, int ndim, const int64_t *shape,
                              const char *const *axes) {
    if (a->n_states >= MEM_MAX_TENSORS) return mem_fail(MEM_ERR_ARG, "too many state tensors");
    mem_tensor_spec *s = &a->states[a->n_states++];
    fill_spec(s, name, ndim, shape, axes);
    s->offset = a->state_dim;
    a->state_dim += s->size;
    return MEM_OK;
}

int mem_arch_find_param(const mem_arch *a, const char *name) {
    for (int i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i].name, name) == 0) return i;
    return -1;
}

mem_status mem_arch_add_init_values(mem_arch *a, const double *values, int n, int *start) {
    if (n < 0 || a->n_init_table + n > MEM_MAX_INIT_TABLE)
        return mem_fail(MEM_ERR_ARG, "too many per-entry initial values (at most %d)", MEM_MAX_INIT_TABLE);
    *start = a->n_init_table;
    for (int i = 0; i < n; i++) a->init_table[a->n_init_table++] = values[i];
    return MEM_OK;
}

mem_status mem_readout_layout(mem_arch *a) {
    const int64_t O = a->n_outputs, H = a->hidden, I = a->n_inputs;
    const int64_t oh[2] = {O, H}, oi[2] = {O, I};
    const char *ax_oh[2] = {"O", "H"}, *ax_oi[2] = {"O", "I"}, *ax_o[1] = {"O"};
    a->n_cell_params = a->n_params;
    a->n_cell_states = a->n_states;
    a->cell_state_dim = a->state_dim;
    a->ro_w = a->n_params;
    MEM_CHECK(mem_arch_add_param(a, "W_o", 2, oh, ax_oh, MEM_INIT_GLOROT, 0, 0, 1, 1));
    a->ro_b = a->n_params;
    MEM_CHECK(mem_arch_add_param(a, "b_o", 1, &O, ax_o, MEM_INIT_ZERO, 0, 0, 1, 0));
    a->ro_d = a->ro_beta = -1;
    if (a->skip) {
        a->ro_d = a->n_params;
        MEM_CHECK(mem_arch_add_param(a, "D", 2, oi, ax_oi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    }
    if (a->output_memory) {
        a->ro_beta = a->n_params;
        /* one value per output: no spread (outputs have their own meaning, not a population) */
        MEM_CHECK(mem_arch_add_param(a, "output_beta_logit", 1, &O, ax_o, MEM_INIT_LOGIT_SPREAD, a->output_beta, 0,
                                     1, 0));
        MEM_CHECK(mem_arch_add_state(a, "output", 1, &O, ax_o));
    }
    return MEM_OK;
}
