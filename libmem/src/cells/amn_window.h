/* The per-window values an AMN core derives from its parameters, shared by AMN and each head of
 * Hyper-AMN: the LRU coefficients with their ν-derivatives and the ρ mix.
 *
 *   Λ = exp(-exp(ν)),  c = sqrt(1 - Λ²),  sc = sqrt((1 - Λ)/(1 + Λ)),  ρ = σ(ρ̂)
 *
 * Numerics: with w = e^ν, 1 - Λ² = -expm1(-2w) and (1 - Λ)/(1 + Λ) = tanh(w/2) exactly, both
 * accurate for slow units (w → 0) in float.
 *
 * Generic (include after core/real.h in a MEM_GENERIC_SOURCE file); static inline. */
#ifndef MEM_CELLS_AMN_WINDOW_H
#define MEM_CELLS_AMN_WINDOW_H

#ifdef MEM_GENERIC_SOURCE
#include <stdint.h>

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

#endif
#endif
