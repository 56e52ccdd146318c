/* AMN — adaptive memory network (spec/cells.md): a liquid-time-constant layer whose rate is gated
 * by the input, a real diagonal linear recurrent unit (LRU) on top of it, and an associative
 * memory manifold queried by the LRU and written by the liquid state.
 *
 *   f_t = tanh(W_in x_t + U s_{t-1} + b_in)               (U only with feedback=1)
 *   λ_t = softplus(a + W_λ x_t)
 *   s_t = e^{-dt λ_t} ⊙ s_{t-1} + (1 - e^{-dt λ_t}) ⊙ f_t   (cells/liquid.h)
 *   Λ = exp(-exp(ν)),  ℓ_t = Λ ⊙ ℓ_{t-1} + sqrt(1 - Λ²) ⊙ s_t
 *   ℓ̃_t = ℓ_t ⊙ sqrt((1 - Λ)/(1 + Λ))
 *   q, r, 𝓜_t: the manifold (memory/manifold.h) with q_src = ℓ̃_t, w_src = s_t
 *   z_t = (1 - ρ) ⊙ ℓ_t + ρ ⊙ r_t,   ρ = σ(ρ̂), γ = σ(γ̂)
 *
 * Numerics: with w = e^ν, 1 - Λ² = -expm1(-2w) and (1 - Λ)/(1 + Λ) = tanh(w/2) exactly, both
 * accurate for slow units (w → 0) where the literal forms cancel.
 *
 * A lane past its length (mem_lane_held) holds s, ℓ and 𝓜; its output on such a step is the
 * cell's read-out of the held state, z = (1 - ρ) ℓ + ρ 𝓜ᵀ softmax(Q ℓ̃) — a function of the
 * state alone, so a checkpointed segment recomputes it exactly; backward differentiates that read
 * (those outputs carry no loss in training, but the gradient stays exact for any caller).
 *
 * The manifold feeds z only, never the recurrence, so a window runs the recurrence step by step
 * first, then the manifold's parameter products (Q ℓ̃, K s, V s) as window GEMMs, then each lane's
 * manifold in chunks of steps (memory/manifold_chunk.c: small matrix products instead of per-step
 * passes over 𝓜, which is stored at the chunk ends only); backward runs the same phases in
 * reverse. Per lane and step: forward H² (U s) + about 6 M·H, backward about twice that, plus
 * window GEMMs for the parameter gradients. Compiled twice (float and double, see core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/amn_window.h"
#include "cells/cell_util.h"
#include "cells/liquid.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "memory/manifold.h"
#include "model/kind.h"

/* Parameter indices, resolved by name: U is absent without feedback. */
typedef struct amn_index {
    int W_in, U, b_in, a, W_lambda, nu, Q, K, V, gamma, rho;
} amn_index;

static amn_index amn_find(const mem_arch *a) {
    amn_index ix;
    ix.W_in = mem_arch_find_param(a, "W_in");
    ix.U = mem_arch_find_param(a, "U");
    ix.b_in = mem_arch_find_param(a, "b_in");
    ix.a = mem_arch_find_param(a, "a");
    ix.W_lambda = mem_arch_find_param(a, "W_lambda");
    ix.nu = mem_arch_find_param(a, "nu");
    ix.Q = mem_arch_find_param(a, "Q");
    ix.K = mem_arch_find_param(a, "K");
    ix.V = mem_arch_find_param(a, "V");
    ix.gamma = mem_arch_find_param(a, "gamma_logit");
    ix.rho = mem_arch_find_param(a, "rho_logit");
    return ix;
}

/* Sizes per step and lane. State S (s | ℓ | 𝓜). The forward cache has a time-major part (row
 * t B + lane) of ET: f, e, om for the recurrence's backward, and a lane-major part (row lane T + t,
 * after the T B time-major rows) of EL: q, k, v, r, ℓ̃ and a copy of s_t, so that a lane's manifold
 * works on consecutive rows and the parameter products of all lanes are single GEMMs. The backward
 * scratch likewise: time-major BT (d pre_f, d pre_λ) and lane-major BL (du, dk_pre, dv_pre, then
 * dr and the chunk backward's scratch, which the products g_ℓ̃ = du Q and g_ws = dk_pre K + dv_pre V
 * overwrite). */
#define AMN_S(H, M) (2 * (H) + (M) * (H))
#define AMN_ET(H) (3 * (H))
#define AMN_EL(H, M) (2 * (M) + 4 * (H))
#define AMN_BT(H) (2 * (H))
#define AMN_BL(H, M) (2 * (M) + 3 * (H))

static mem_manifold amn_manifold(const mem_net *net, const amn_index *ix, int64_t M, int64_t H) {
    const mem_arch *a = net->arch;
    mem_manifold mf;
    mf.M = M;
    mf.H = H;
    mf.Q = net->w + a->params[ix->Q].offset;
    mf.K = net->w + a->params[ix->K].offset;
    mf.V = net->w + a->params[ix->V].offset;
    MEM_FN(mem_manifold_set_gamma)(&mf, net->w[a->params[ix->gamma].offset]);
    return mf;
}

/* The per-lane elementwise parts of a step (restrict pointers: the loops vectorise). */

/* f = tanh(p_in + b_in [+ U s_{t-1}, on entry in f]), λ = softplus(a + W_λ x) into lam. Returns
 * Σ 1/λ (for the lc_timescale statistic) in eight interleaved partial sums: a fixed order that
 * vectorises (MEM_SIMD_CLONES: the same bits in the AVX2 build). */
static MEM_SIMD_CLONES mem_real amn_pre(int64_t H, const mem_real *restrict p_in, const mem_real *restrict b_in,
                                        const mem_real *restrict rate_a, const mem_real *restrict p_lam,
                                        int feedback, mem_real *restrict f, mem_real *restrict lam) {
    if (feedback)
        for (int64_t i = 0; i < H; i++) f[i] = mr_tanh(p_in[i] + b_in[i] + f[i]);
    else
        for (int64_t i = 0; i < H; i++) f[i] = mr_tanh(p_in[i] + b_in[i]);
    mem_real part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= H; i += 8)
        for (int c = 0; c < 8; c++) {
            lam[i + c] = mem_liquid_rate(rate_a[i + c] + p_lam[i + c]);
            part[c] += MEM_R(1) / lam[i + c];
        }
    for (; i < H; i++) {
        lam[i] = mem_liquid_rate(rate_a[i] + p_lam[i]);
        part[0] += MEM_R(1) / lam[i];
    }
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* ℓ̃ of a held lane */
static inline void amn_query_source(int64_t H, const mem_real *restrict l, const mem_real *restrict sc,
                                    mem_real *restrict lt) {
    for (int64_t j = 0; j < H; j++) lt[j] = l[j] * sc[j];
}

/* The forward runs in three phases. The manifold is read by z only, never by the recurrence, so the
 * recurrence (liquid step and LRU) runs first, step by step; then the manifold's parameter products
 * of the whole window (two GEMMs); then each lane's manifold in chunks (manifold_chunk.c), which
 * stores 𝓜 at the chunk ends only, and the output. */
static void amn_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                        mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const amn_index ix = amn_find(a);
    const int64_t H = a->hidden, I = a->n_inputs, M = a->params[ix.Q].shape[0];
    const int64_t S = AMN_S(H, M), ET = AMN_ET(H), EL = AMN_EL(H, M), P = 2 * H, TB = T * B;
    const mem_real dt = (mem_real)a->hyper[0];
    const mem_real *U = ix.U >= 0 ? net->w + a->params[ix.U].offset : NULL;
    const mem_real *b_in = net->w + a->params[ix.b_in].offset;
    const mem_real *rate_a = net->w + a->params[ix.a].offset;
    const mem_real *nu = net->w + a->params[ix.nu].offset;
    const mem_real *rho_logit = net->w + a->params[ix.rho].offset;
    const mem_amn_window wv = mem_amn_window_at(proj + T * B * P, H);
    mem_amn_window_fill(&wv, H, nu, rho_logit);
    /* The input projections of the whole window, hoisted out of the time loop. */
    mem_gemm_real(0, 1, TB, H, I, MEM_R(1), x, I, net->w + a->params[ix.W_in].offset, I, MEM_R(0), proj, P,
                  net->n_threads);
    mem_gemm_real(0, 1, TB, H, I, MEM_R(1), x, I, net->w + a->params[ix.W_lambda].offset, I, MEM_R(0),
                  proj + H, P, net->n_threads);
    const mem_manifold mf = amn_manifold(net, &ix, M, H);
    mem_real *lanes = extra + TB * ET; /* the lane-major records */

    const int nt = mem_threads_for(net->n_threads, T * B * (8 * M * H + 4 * H * H + 30 * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        const int64_t nb = b_end - b0;
        for (int64_t t = 0; t < T; t++) {
            /* U s_{t-1} of the chunk's lanes, into f (completed in place below) */
            if (U)
                mem_gemm_real(0, 1, nb, H, H, MEM_R(1), states + (t * B + b0) * S, S, U, H, MEM_R(0),
                              extra + (t * B + b0) * ET, ET, 1);
            for (int64_t lane = b0; lane < b_end; lane++) {
                const mem_real *prev = states + (t * B + lane) * S;
                mem_real *next = states + ((t + 1) * B + lane) * S;
                mem_real *f = extra + (t * B + lane) * ET;
                mem_real *lt = lanes + (lane * T + t) * EL + 2 * M + 2 * H;
                if (mem_lane_held(len, t, lane)) { /* s and ℓ hold (𝓜: manifold_chunk.c) */
                    memcpy(next, prev, (size_t)(2 * H) * sizeof *next);
                    memset(f, 0, (size_t)(3 * H) * sizeof *f);
                    amn_query_source(H, prev + H, wv.sc, lt);
                } else {
                    mem_real *p_in = proj + (t * B + lane) * P;
                    /* f and λ (λ parked in e until the liquid step turns it into the decay); W_in x
                     * is dead once f is formed, so its first entry keeps Σ 1/λ for amn_stats */
                    p_in[0] = amn_pre(H, p_in, b_in, rate_a, p_in + H, U != NULL, f, f + H);
                    mem_liquid_forward(H, dt, f + H, f, prev, next, f + 2 * H);
                    mem_amn_lru_step(H, wv.lam, wv.c, wv.sc, prev + H, next, next + H, lt);
                }
                memcpy(lt + H, next, (size_t)H * sizeof *lt); /* s_t for the write's products */
            }
        }
    }
    /* The manifold's parameter products of every lane and step: Q ℓ̃, and K s with V s as one
     * product ([K; V] is one (M + H) x H matrix, see amn_layout; k and v are adjacent records). */
    mem_gemm_real(0, 1, TB, M, H, MEM_R(1), lanes + 2 * M + 2 * H, EL, mf.Q, H, MEM_R(0), lanes, EL, net->n_threads);
    mem_gemm_real(0, 1, TB, M + H, H, MEM_R(1), lanes + 2 * M + 3 * H, EL, mf.K, H, MEM_R(0), lanes + M, EL,
                  net->n_threads);
    /* Per lane: the chunked manifold and the output. */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        for (int64_t lane = b0; lane < b_end; lane++) {
            const int64_t n_valid = mem_lane_valid_steps(len, T, lane);
            mem_real *rec = lanes + lane * T * EL, *q = rec, *k = rec + M, *v = rec + 2 * M, *r = v + H;
            for (int64_t t = 0; t < T; t++) {
                MEM_FN(mem_manifold_activate)(&mf, q + t * EL, k + t * EL, v + t * EL);
                if (t >= n_valid) { /* no write: k and v stay zero */
                    memset(k + t * EL, 0, (size_t)M * sizeof *k);
                    memset(v + t * EL, 0, (size_t)H * sizeof *v);
                }
            }
            /* the lane's z rows serve as the chunks' scratch until z is formed */
            MEM_FN(mem_manifold_chunk_forward)(&mf, T, n_valid, q, k, v, EL, r, EL, states + lane * S + 2 * H, B * S,
                                               z + lane * H, B * H);
            for (int64_t t = 0; t < T; t++)
                mem_amn_output(H, wv.omr, wv.rho, states + ((t + 1) * B + lane) * S + H, r + t * EL,
                               z + (t * B + lane) * H);
        }
    }
}

/* Backward helpers, per lane (restrict pointers: the loops vectorise). */

/* dr = ρ ⊙ dz (the gradient wrt r), dρ += dz ⊙ (r - ℓ) */
static inline void amn_back_output(int64_t H, const mem_real *restrict rho, const mem_real *restrict dzt,
                                   const mem_real *restrict r, const mem_real *restrict l, mem_real *restrict dr,
                                   mem_real *restrict d_rho) {
    for (int64_t j = 0; j < H; j++) {
        dr[j] = rho[j] * dzt[j];
        d_rho[j] += dzt[j] * (r[j] - l[j]);
    }
}

/* A held lane: ℓ feeds z and the query only. */
static inline void amn_back_held_lru(int64_t H, const mem_real *restrict omr, const mem_real *restrict sc,
                                     const mem_real *restrict d_sc, const mem_real *restrict dzt,
                                     const mem_real *restrict g_lt, const mem_real *restrict l_p,
                                     mem_real *restrict gl, mem_real *restrict d_nu) {
    for (int64_t j = 0; j < H; j++) {
        gl[j] += omr[j] * dzt[j] + sc[j] * g_lt[j];
        d_nu[j] += g_lt[j] * l_p[j] * d_sc[j];
    }
}

/* Backward in the forward's phases, reversed. */
static void amn_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         const mem_real *states, const mem_real *proj, const mem_real *extra, const mem_real *dz,
                         mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const amn_index ix = amn_find(a);
    const int64_t H = a->hidden, I = a->n_inputs, M = a->params[ix.Q].shape[0];
    const int64_t S = AMN_S(H, M), ET = AMN_ET(H), EL = AMN_EL(H, M), BT = AMN_BT(H), BL = AMN_BL(H, M);
    const int64_t P = 2 * H, TB = T * B, GPB = a->grad_per_block;
    const mem_real dt = (mem_real)a->hyper[0];
    const mem_real *U = ix.U >= 0 ? net->w + a->params[ix.U].offset : NULL;
    const mem_real *rate_a = net->w + a->params[ix.a].offset;
    const mem_amn_window wv = mem_amn_window_at((mem_real *)proj + TB * P, H);
    const mem_manifold mf = amn_manifold(net, &ix, M, H);
    const mem_real *lanes = extra + TB * ET; /* the forward's lane-major records */
    mem_real *lane_scratch = scratch + TB * BT;
    mem_real *partials = lane_scratch + TB * BL; /* per block: dρ | dν | dγ | temporary g_s (H) | chunk work */

    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, T * B * (12 * M * H + 6 * H * H + 40 * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
    /* Per lane: dr = ρ dz and the chunked manifold backward (du, dk_pre, dv_pre, dγ and the carried
     * 𝓜 gradient). */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        for (int64_t blk = b0 / MEM_LANE_BLOCK; blk < mem_lane_blocks(b_end); blk++)
            memset(partials + blk * GPB, 0, (size_t)(2 * H + 1) * sizeof *partials);
        for (int64_t lane = b0; lane < b_end; lane++) {
            /* the lane's block's sums (the same order of additions in any chunk) */
            mem_real *d_rho = partials + lane / MEM_LANE_BLOCK * GPB, *d_gamma = d_rho + 2 * H;
            const mem_real *rec = lanes + lane * T * EL, *q = rec, *k = rec + M, *v = rec + 2 * M, *r = v + H;
            mem_real *lrec = lane_scratch + lane * T * BL, *du = lrec, *dk = lrec + M, *dv = lrec + 2 * M;
            mem_real *dr = dv + H;
            /* z_t = (1 - ρ) ℓ + ρ r (a held lane's ℓ slot holds the held state) */
            for (int64_t t = 0; t < T; t++)
                amn_back_output(H, wv.rho, dz + (t * B + lane) * H, r + t * EL, states + ((t + 1) * B + lane) * S + H,
                                dr + t * BL, d_rho);
            MEM_FN(mem_manifold_chunk_backward)(&mf, T, mem_lane_valid_steps(len, T, lane), q, k, v, EL,
                                                states + lane * S + 2 * H, B * S, dr, BL, d_state + lane * S + 2 * H,
                                                du, dk, dv, BL, dr + H, BL, d_rho + 3 * H + 1, d_gamma);
        }
    }
    /* The parameter products of every lane and step, over dr and the chunk scratch: g_ℓ̃ = Qᵀ du and
     * g_ws = [K; V]ᵀ [dk_pre; dv_pre] (the gradients sent to ℓ̃ and to s_t). */
    const int64_t o_glt = 2 * M + H, o_gws = 2 * M + 2 * H;
    mem_gemm_real(0, 0, TB, H, M, MEM_R(1), lane_scratch, BL, mf.Q, H, MEM_R(0), lane_scratch + o_glt, BL,
                  net->n_threads);
    mem_gemm_real(0, 0, TB, H, M + H, MEM_R(1), lane_scratch + M, BL, mf.K, H, MEM_R(0), lane_scratch + o_gws, BL,
                  net->n_threads);
    /* The recurrence, step by step. */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        const int64_t nb = b_end - b0;
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                mem_real *d_nu = partials + lane / MEM_LANE_BLOCK * GPB + H, *g_s = d_nu + H + 1;
                mem_real *gs = d_state + lane * S, *gl = gs + H;
                const mem_real *dzt = dz + (t * B + lane) * H;
                const mem_real *f = extra + (t * B + lane) * ET, *e = f + H, *om = e + H;
                mem_real *dpf = scratch + (t * B + lane) * BT, *dpl = dpf + H;
                const mem_real *g_lt = lane_scratch + (lane * T + t) * BL + o_glt, *g_ws = g_lt + H;
                const mem_real *prev = states + (t * B + lane) * S;
                if (mem_lane_held(len, t, lane)) {
                    amn_back_held_lru(H, wv.omr, wv.sc, wv.d_sc, dzt, g_lt, prev + H, gl, d_nu);
                    memset(dpf, 0, (size_t)(2 * H) * sizeof *dpf);
                    continue;
                }
                const mem_real *next = states + ((t + 1) * B + lane) * S;
                /* LRU: ℓ_t feeds z, the next step, and the query through ℓ̃ = ℓ ⊙ sc. */
                mem_amn_lru_backward(H, &wv, dzt, g_lt, g_ws, prev + H, next, next + H, gs, gl, g_s, d_nu);
                /* liquid step: dpf receives d f, dpl receives d λ, gs the gradient wrt s_{t-1} */
                mem_liquid_backward(H, dt, g_s, e, om, f, prev, gs, dpf, dpl);
                mem_amn_pre_backward(H, f, rate_a, proj + (t * B + lane) * P + H, dpf, dpl);
            }
            /* U's share of the gradient wrt s_{t-1}: gs += dpf U (held lanes have dpf = 0) */
            if (U)
                mem_gemm_real(0, 0, nb, H, H, MEM_R(1), scratch + (t * B + b0) * BT, BT, U, H, MEM_R(1),
                              d_state + b0 * S, S, 1);
        }
    }

    /* Per-unit and scalar gradients, block partials added in block order. */
    mem_real *g_rho = net->g + a->params[ix.rho].offset;
    mem_real *g_nu = net->g + a->params[ix.nu].offset;
    mem_real *g_gamma = net->g + a->params[ix.gamma].offset;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *d_rho = partials + blk * GPB, *d_nu = d_rho + H, *d_gamma = d_nu + H;
        for (int64_t j = 0; j < H; j++) {
            g_rho[j] += d_rho[j] * wv.rho[j] * wv.omr[j];
            g_nu[j] += d_nu[j];
        }
        g_gamma[0] += d_gamma[0] * mf.gamma * mf.one_minus_gamma;
    }
    /* Matrix gradients over the window: held rows of the scratch are zero except the read's du. */
    const mem_real *dpf_all = scratch, *dpl_all = scratch + H;
    mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpf_all, BT, x, I, MEM_R(1), net->g + a->params[ix.W_in].offset, I,
                  net->n_threads);
    mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpl_all, BT, x, I, MEM_R(1), net->g + a->params[ix.W_lambda].offset,
                  I, net->n_threads);
    if (U)
        mem_gemm_real(1, 0, H, H, TB, MEM_R(1), dpf_all, BT, states, S, MEM_R(1), net->g + a->params[ix.U].offset,
                      H, net->n_threads);
    mem_column_sums_add(scratch, TB, H, BT, net->g + a->params[ix.b_in].offset);
    mem_column_sums_add(scratch + H, TB, H, BT, net->g + a->params[ix.a].offset);
    /* Q against ℓ̃, [K; V] against s_t: the lane-major copies, row for row with the gradients. */
    mem_gemm_real(1, 0, M, H, TB, MEM_R(1), lane_scratch, BL, lanes + 2 * M + 2 * H, EL, MEM_R(1),
                  net->g + a->params[ix.Q].offset, H, net->n_threads);
    mem_gemm_real(1, 0, M + H, H, TB, MEM_R(1), lane_scratch + M, BL, lanes + 2 * M + 3 * H, EL, MEM_R(1),
                  net->g + a->params[ix.K].offset, H, net->n_threads);
}

/* Per-call statistics: the sum of the liquid time constants 1/λ_t over every valid step, lane and
 * unit (each step's sum left by the forward in its projection row), and their count; added
 * sequentially: deterministic. */
static void amn_stats(const mem_net *net, int64_t T, int64_t B, const int64_t *len, const mem_real *proj,
                      const mem_real *extra, double *sums) {
    const mem_arch *a = net->arch;
    const int64_t H = a->hidden, P = a->proj_per_step;
    for (int64_t t = 0; t < T; t++)
        for (int64_t lane = 0; lane < B; lane++) {
            if (mem_lane_held(len, t, lane)) continue;
            sums[0] += (double)proj[(t * B + lane) * P];
            sums[1] += (double)H;
        }
}

const mem_cell_ops MEM_FN(mem_amn_ops) = {amn_forward, amn_backward, amn_stats};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)

static const mem_param_def amn_params[] = {
    {"memory_manifold_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 64, 1, 65536, 0, NULL,
     "rows M of the associative memory manifold (M x hidden_size)"},
    {"dt", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 1.0, 0, 1e6, MEM_BOUND_MIN_OPEN, NULL,
     "time step of the liquid layer: s_t = exp(-dt lambda) s_{t-1} + (1 - exp(-dt lambda)) f_t "
     "(exact integration, stable for every dt)"},
    {"memory_decay", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.995, 0, 1, OPEN_BOTH, NULL,
     "initial manifold decay gamma (learned): M_t = gamma M_{t-1} + (1 - gamma) k v^T"},
    {"lru_min", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.5, 0, 1, OPEN_BOTH, NULL,
     "smallest initial LRU decay Lambda (1 - Lambda log-uniform between 1 - lru_max and 1 - lru_min)"},
    {"lru_max", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.999, 0, 1, OPEN_BOTH, NULL,
     "largest initial LRU decay Lambda: its time scale 1/(1 - Lambda) should stay below the history seen "
     "in training (long-memory sequence tasks such as the adding problem at T >= 200 want 0.9999)"},
    {"feedback", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "f_t reads U s_{t-1} (liquid-time-constant form); 0 drops U, so every step's coefficients depend on "
     "the input only (long-memory tasks often prefer 0)"},
};

static mem_status amn_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int64_t M = (int64_t)mem_config_value(cfg, "memory_manifold_size");
    const double lru_min = mem_config_value(cfg, "lru_min"), lru_max = mem_config_value(cfg, "lru_max");
    if (!(lru_min < lru_max))
        return mem_fail(MEM_ERR_ARG,
                        "mem_model_create: lru_min=%g must be less than lru_max=%g (the initial LRU decays "
                        "are spread between them)",
                        lru_min, lru_max);
    const int64_t hi[2] = {H, I}, hh[2] = {H, H}, mh[2] = {M, H}, one = 1;
    const char *ax_hi[2] = {"H", "I"}, *ax_hh[2] = {"H", "H"}, *ax_mh[2] = {"M", "H"}, *ax_h[1] = {"H"};
    const char *ax_1[1] = {"1"};
    const double kv_std = 1.0 / sqrt((double)H);
    MEM_CHECK(mem_arch_add_param(a, "W_in", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    if (mem_config_value(cfg, "feedback") != 0)
        MEM_CHECK(mem_arch_add_param(a, "U", 2, hh, ax_hh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b_in", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "a", 1, &H, ax_h, MEM_INIT_SOFTPLUS_INV, 0.5, 1.0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "W_lambda", 2, hi, ax_hi, MEM_INIT_ZERO, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "nu", 1, &H, ax_h, MEM_INIT_LRU_NU, lru_min, lru_max, 1, 0));
    /* K then V: parameters are laid out one after another, so [K; V] is one (M + H) x H matrix for
     * the forward's and backward's products */
    MEM_CHECK(mem_arch_add_param(a, "Q", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "K", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "V", 2, hh, ax_hh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "gamma_logit", 1, &one, ax_1, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "memory_decay"), 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "rho_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD, 0.3, 0, 1, 0));
    MEM_CHECK(mem_arch_add_state(a, "s", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "lru", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "manifold", 2, mh, ax_mh));
    a->hyper[0] = mem_config_value(cfg, "dt");
    a->proj_per_step = 2 * H;
    a->per_window = MEM_AMN_WINDOW_ARRAYS * H;
    a->extra_per_step = AMN_ET(H) + AMN_EL(H, M);
    a->bwd_per_step = AMN_BT(H) + AMN_BL(H, M);
    a->grad_per_block = 3 * H + 1 + mem_manifold_chunk_work(M, H);
    a->n_stats = 2;
    return MEM_OK;
}

static const char *const amn_diag_names[] = {"manifold_energy", "lru_magnitude", "lc_timescale"};

/* lc_timescale is the mean liquid time constant 1/λ_t over the last call (amn_stats); without one
 * (after reset_memory, or a fresh or loaded model) the zero-input value, mean of 1/softplus(a). */
static mem_status amn_diag(const mem_arch *a, const float *w, const float *memory, const double *stats, int index,
                           double *values, int64_t capacity, int64_t *n_values) {
    const int64_t H = a->hidden, M = a->states[2].shape[0];
    double v = 0;
    if (index == 0) {
        v = mem_manifold_energy(memory + 2 * H, M * H);
    } else if (index == 1) {
        for (int64_t j = 0; j < H; j++) v += fabs((double)memory[H + j]);
        v /= (double)H;
    } else if (stats && stats[1] > 0) {
        v = stats[0] / stats[1];
    } else {
        const float *rate_a = w + a->params[mem_arch_find_param(a, "a")].offset;
        for (int64_t j = 0; j < H; j++) {
            const double z = rate_a[j];
            const double lam = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
            v += 1.0 / lam;
        }
        v /= (double)H;
    }
    *n_values = 1;
    if (capacity >= 1) values[0] = v;
    return MEM_OK;
}

const mem_kind mem_kind_amn = {
    .name = "amn",
    .doc = "adaptive memory network: input-gated liquid time constants, a linear recurrent unit and an "
           "associative memory manifold",
    .params = amn_params,
    .n_params = (int)(sizeof amn_params / sizeof amn_params[0]),
    .default_learning_rate = 0.03, /* bench/learning_rate_sweep.md */
    .default_skip = 1,
    .layout = amn_layout,
    .diag_names = amn_diag_names,
    .n_diags = 3,
    .diag = amn_diag,
    .ops_f32 = &mem_amn_ops_f32,
};
#endif
