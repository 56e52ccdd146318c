/* The liquid step (spec/cells.md, "Liquid step") and its input-gated rate, shared by the cells that
 * integrate a unit toward a target with a learned time constant (AMN, DTPN, Hyper-AMN, SGW-AMN).
 *
 *   λ_t = softplus(pre_t)                             (pre = a + W_λ x_t, or a cell's own source)
 *   s_t = e^{-dt λ_t} ⊙ s_{t-1} + (1 - e^{-dt λ_t}) ⊙ g_t
 *
 * The step is the exact solution of ds/dt = λ (g - s) over dt with λ and g held, so it is a convex
 * combination for every dt > 0 (stable, bounded by |g| and |s_{t-1}|); 1 - e^{-x} is computed as
 * -expm1(-x) so slow units (dt λ ~ 1e-6) keep their precision in float.
 *
 * Generic (include after core/real.h, i.e. in a MEM_GENERIC_SOURCE file); everything is static
 * inline, so each cell gets its own copy compiled in its own scalar type. */
#ifndef MEM_CELLS_LIQUID_H
#define MEM_CELLS_LIQUID_H

#ifdef MEM_GENERIC_SOURCE
#include <stdint.h>

#include "core/real.h"

/* Forward over n units, in place on the rate: rate_decay holds λ on entry and e^{-dt λ} on exit;
 * gain = 1 - e^{-dt λ} (both are cached for backward: cheaper than a second exp and expm1 per
 * unit). No other argument may alias another (restrict: the loop vectorises). */
static MEM_SIMD_CLONES void mem_liquid_forward(int64_t n, mem_real dt, mem_real *restrict rate_decay,
                                               const mem_real *restrict g, const mem_real *restrict s_prev,
                                               mem_real *restrict s, mem_real *restrict gain) {
    for (int64_t j = 0; j < n; j++) {
        const mem_real x = dt * rate_decay[j];
        const mem_real e = mr_exp(-x), om = -mr_expm1(-x);
        rate_decay[j] = e;
        gain[j] = om;
        s[j] = e * s_prev[j] + om * g[j];
    }
}

/* Backward over n units, from the gradient d_s wrt s_t: writes the gradients wrt s_{t-1}, g_t
 * and λ_t. d(1 - e^{-dt λ})/dλ = dt e^{-dt λ}, so dλ = dt e (g - s_{t-1}) d_s. No argument may
 * alias another (restrict: without it GCC needs more run-time alias checks than it emits and
 * leaves the loop scalar). */
static inline void mem_liquid_backward(int64_t n, mem_real dt, const mem_real *restrict d_s,
                                       const mem_real *restrict decay, const mem_real *restrict gain,
                                       const mem_real *restrict g, const mem_real *restrict s_prev,
                                       mem_real *restrict d_s_prev, mem_real *restrict d_g,
                                       mem_real *restrict d_lambda) {
    for (int64_t j = 0; j < n; j++) {
        const mem_real ds = d_s[j];
        d_lambda[j] = dt * decay[j] * (g[j] - s_prev[j]) * ds;
        d_g[j] = gain[j] * ds;
        d_s_prev[j] = decay[j] * ds;
    }
}

/* The rate λ = softplus(pre) > 0 and its derivative dλ/dpre = σ(pre). */
static inline mem_real mem_liquid_rate(mem_real pre) { return mr_softplus(pre); }
static inline mem_real mem_liquid_rate_slope(mem_real pre) { return mr_sigmoid(pre); }

#endif
#endif
