/* What AMRC and PMRC share outside their equations (float build): the diagnostics of a cell whose
 * neurons carry an echo (β) and a memory (rate α, gain w_m) in parameters named beta_logit,
 * alpha_logit and w_m, with the memory m in the second H entries of the state. */
#ifndef MEM_CELLS_ECHO_MEMORY_H
#define MEM_CELLS_ECHO_MEMORY_H

#include "model/kind.h"

#define MEM_ECHO_MEMORY_N_DIAGS 4
extern const char *const mem_echo_memory_diag_names[MEM_ECHO_MEMORY_N_DIAGS];

/* "beta", "alpha" (σ of the logits, per unit; no values when the cell has no alpha_logit),
 * "memory_gain" (w_m, per unit), "memory_magnitude" (mean |m| of the stored memory). */
mem_status mem_echo_memory_diag(const mem_arch *a, const float *w, const float *memory, const double *stats,
                                int index, double *values, int64_t capacity, int64_t *n_values);

#endif
