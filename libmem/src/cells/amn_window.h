/* The AMN core shared by AMN and each head of Hyper-AMN: the per-window values it derives from its
 * parameters (the LRU coefficients with their ν-derivatives and the ρ mix) and its per-lane LRU and
 * output steps with their backward.
 *
 *   Λ = exp(-exp(ν)),  c = sqrt(1 - Λ²),  sc = sqrt((1 - Λ)/(1 + Λ)),  ρ = σ(ρ̂)
 *
 * Numerics: with w = e^ν, 1 - Λ² = -expm1(-2w) and (1 - Λ)/(1 + Λ) = tanh(w/2) exactly, both
 * accurate for slow units (w → 0) in float.
 *
 * Generic (include after core/real.h in a MEM_GENERIC_SOURCE file); static (inline), restrict
 * pointers so the loops vectorise. */
#ifndef MEM_CELLS_AMN_WINDOW_H
#define MEM_CELLS_AMN_WINDOW_H

#ifdef MEM_GENERIC_SOURCE
#include <stdint.h>

#include "cells/liquid.h"
#include "core/real.h"

#define MEM_AMN_WINDOW_ARRAYS 8

typedef struct mem_amn_window {
    mem_real *lam, *c, *sc, *d_lam, *d_c, *d_sc, *rho, *omr; /* each H */
} mem_amn_window;

/* The window's arrays laid out one after another from base (MEM_AMN_WINDOW_ARRAYS · H values). */
static inline mem_amn_window mem_amn_window_at(mem_real *base, int64_t H) {
    mem_amn_window w = {base, base + H, base + 2 * H, base + 3 * H, base + 4 * H, base + 5 * H, base + 6 * H,
                        base + 7 * H};
    return w;
}

static inline void mem_amn_window_fill(const mem_amn_window *wv, int64_t H, const mem_real *nu,
                                       const mem_real *rho_logit) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real w = mr_exp(nu[j]);
        const mem_real lam = mr_exp(-w), c = mr_sqrt(-mr_expm1(-2 * w));
        const mem_real th = mr_tanh(w / 2), sc = mr_sqrt(th);
        wv->lam[j] = lam;
        wv->c[j] = c;
        wv->sc[j] = sc;
        wv->d_lam[j] = -w * lam;
        /* d sqrt(1 - Λ²)/dν = w Λ² / c and d sqrt(tanh(w/2))/dν = w (1 - tanh²) / (4 sc); both are
         * infinite at w = 0 (ν below about -745), where the unit is a pure integrator: 0 there. */
        wv->d_c[j] = c > 0 ? w * lam * lam / c : MEM_R(0);
        wv->d_sc[j] = sc > 0 ? w * (MEM_R(1) - th) * (MEM_R(1) + th) / (4 * sc) : MEM_R(0);
        wv->rho[j] = mr_sigmoid(rho_logit[j]);
        wv->omr[j] = mr_sigmoid(-rho_logit[j]);
    }
}

/* ℓ = Λ ⊙ ℓ_prev + c ⊙ s,  ℓ̃ = ℓ ⊙ sc */
static inline void mem_amn_lru_step(int64_t H, const mem_real *restrict lam, const mem_real *restrict c,
                                    const mem_real *restrict sc, const mem_real *restrict l_prev,
                                    const mem_real *restrict s, mem_real *restrict l, mem_real *restrict lt) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real lj = lam[j] * l_prev[j] + c[j] * s[j];
        l[j] = lj;
        lt[j] = lj * sc[j];
    }
}

/* z = (1 - ρ) ⊙ ℓ + ρ ⊙ r */
static inline void mem_amn_output(int64_t H, const mem_real *restrict omr, const mem_real *restrict rho,
                                  const mem_real *restrict l, const mem_real *restrict r, mem_real *restrict zt) {
    for (int64_t j = 0; j < H; j++) zt[j] = omr[j] * l[j] + rho[j] * r[j];
}

/* The LRU backward: g_ℓ from z (dzt), the next step (gl) and the query (g_lt); gl becomes the
 * gradient wrt ℓ_{t-1}, d_nu accumulates, and g_s is the gradient wrt s_t: gs (from the next
 * step), the LRU's share and the write's share g_ws. */
static inline void mem_amn_lru_backward(int64_t H, const mem_amn_window *w, const mem_real *restrict dzt,
                                        const mem_real *restrict g_lt, const mem_real *restrict g_ws,
                                        const mem_real *restrict l_p, const mem_real *restrict s,
                                        const mem_real *restrict l, const mem_real *restrict gs,
                                        mem_real *restrict gl, mem_real *restrict g_s, mem_real *restrict d_nu) {
    const mem_real *restrict omr = w->omr, *restrict sc = w->sc, *restrict lam = w->lam, *restrict c = w->c;
    const mem_real *restrict d_lam = w->d_lam, *restrict d_c = w->d_c, *restrict d_sc = w->d_sc;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g_l = gl[j] + omr[j] * dzt[j] + sc[j] * g_lt[j];
        d_nu[j] += g_l * (d_lam[j] * l_p[j] + d_c[j] * s[j]) + g_lt[j] * l[j] * d_sc[j];
        gl[j] = lam[j] * g_l;
        g_s[j] = gs[j] + c[j] * g_l + g_ws[j];
    }
}

/* Through f = tanh(pre_f) and λ = softplus(pre_λ), pre_λ = a + W_λ x: dpf and dpl in place. */
static MEM_SIMD_CLONES void mem_amn_pre_backward(int64_t H, const mem_real *restrict f,
                                                 const mem_real *restrict rate_a, const mem_real *restrict p_lam,
                                                 mem_real *restrict dpf, mem_real *restrict dpl) {
    for (int64_t i = 0; i < H; i++) {
        dpf[i] *= MEM_R(1) - f[i] * f[i];
        dpl[i] *= mem_liquid_rate_slope(rate_a[i] + p_lam[i]);
    }
}

#endif
#endif
