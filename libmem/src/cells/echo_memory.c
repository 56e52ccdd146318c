#include "cells/echo_memory.h"

#include <math.h>

const char *const mem_echo_memory_diag_names[MEM_ECHO_MEMORY_N_DIAGS] = {"beta", "alpha", "memory_gain",
                                                                        "memory_magnitude"};

mem_status mem_echo_memory_diag(const mem_arch *a, const float *w, const float *memory, const double *stats,
                                int index, double *values, int64_t capacity, int64_t *n_values) {
    const int64_t H = a->hidden;
    if (index == 3) {
        double s = 0;
        for (int64_t j = 0; j < H; j++) s += fabs(memory[H + j]);
        *n_values = 1;
        if (capacity >= 1) values[0] = s / (double)H;
        return MEM_OK;
    }
    static const char *const source[3] = {"beta_logit", "alpha_logit", "w_m"};
    const int p_index = mem_arch_find_param(a, source[index]);
    if (p_index < 0) { /* alpha of a gated PMRC: the learned gate replaces it */
        *n_values = 0;
        return MEM_OK;
    }
    const float *p = w + a->params[p_index].offset;
    *n_values = H;
    for (int64_t j = 0; j < H && j < capacity; j++) values[j] = index < 2 ? 1.0 / (1.0 + exp(-(double)p[j])) : p[j];
    return MEM_OK;
}
