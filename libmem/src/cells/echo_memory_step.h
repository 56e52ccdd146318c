/* The per-lane loops AMRC and PMRC share (generic sources, include after core/real.h): the memory
 * update and the backward step of a neuron with an echo h = u + β ⊙ h_prev and a leaky memory
 * m = (1 - α) ⊙ m_prev + α ⊙ u feeding u = tanh(... + w_m ⊙ m_prev). Every pointer is restrict
 * (distinct arrays, or disjoint parts of one), so the loops vectorise without alias checks. */
#ifndef MEM_CELLS_ECHO_MEMORY_STEP_H
#define MEM_CELLS_ECHO_MEMORY_STEP_H

#include <stdint.h>

/* m = (1 - α) ⊙ m_prev + α ⊙ u */
static inline void mem_echo_step_m(int64_t H, const mem_real *restrict alpha, const mem_real *restrict m_prev,
                                   const mem_real *restrict u, mem_real *restrict m) {
    for (int64_t j = 0; j < H; j++) m[j] = (MEM_R(1) - alpha[j]) * m_prev[j] + alpha[j] * u[j];
}

/* One lane's gradients in the backward step: gh, gm the state gradient (in: from step t+1, out: to
 * step t-1); dpre the pre-activation gradient of the step; d_* the lane block's parameter sums. */
typedef struct mem_echo_grad {
    mem_real *restrict gh, *restrict gm, *restrict dpre, *restrict d_beta, *restrict d_alpha, *restrict d_wm;
} mem_echo_grad;

/* Backward through u, h and m of the fixed-rate (α) memory; dzt is the output gradient of step t. */
static MEM_SIMD_CLONES void mem_echo_back(int64_t H, const mem_real *restrict dzt, const mem_real *restrict u,
                                 const mem_real *restrict h_prev, const mem_real *restrict m_prev,
                                 const mem_real *restrict alpha, const mem_real *restrict beta,
                                 const mem_real *restrict wm, mem_echo_grad lg) {
    mem_real *restrict gh = lg.gh, *restrict gm = lg.gm, *restrict dpre = lg.dpre;
    mem_real *restrict d_beta = lg.d_beta, *restrict d_alpha = lg.d_alpha, *restrict d_wm = lg.d_wm;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g_h = gh[j] + dzt[j], g_m = gm[j];
        const mem_real da = (g_h + alpha[j] * g_m) * (MEM_R(1) - u[j] * u[j]);
        dpre[j] = da;
        d_beta[j] += g_h * h_prev[j];
        d_alpha[j] += g_m * (u[j] - m_prev[j]);
        d_wm[j] += da * m_prev[j];
        gh[j] = beta[j] * g_h;
        gm[j] = (MEM_R(1) - alpha[j]) * g_m + wm[j] * da;
    }
}

#endif
