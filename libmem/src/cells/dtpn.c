/* DTPN — dual-track persistence network (spec/cells.md): a recurrent tanh layer with a per-neuron
 * echo (track one), a per-neuron memory whose rate is gated by the input (track two), and an
 * associative memory manifold queried and written by the echoed pre-output p.
 *
 *   u_t = tanh(W x_t + U h_{t-1} + b);   p_t = u_t + β ⊙ e_{t-1};   e_t = p_t
 *   α_t = σ(α̂ + W_α x_t);                n_t = (1 - α_t) ⊙ n_{t-1} + α_t ⊙ p_t
 *   q, r, 𝓜_t: the manifold (memory/manifold.h) with q_src = w_src = p_t (read 𝓜_{t-1}, write)
 *   h_t = tanh(p_t + n_t + r_t);         z_t = h_t,   β = σ(β̂), γ = σ(γ̂)
 *
 * The rate is gated by the input (W_α, init 0) because with an input-independent rate a unit
 * cannot decide to hold a value: a prototype with fixed rates stayed at the adding problem's
 * baseline. `learn_memory=0` fixes β̂, α̂ and W_α (the rates stay at their initial values).
 *
 * A lane past its length (mem_lane_held) holds every state and outputs its held h.
 *
 * Per lane and step: forward H² (U h) + H² (V p) + 4 M·H (manifold) + O(H); backward about the
 * same again plus window GEMMs for W, W_α, U, Q, K, V. Compiled twice (float and double). */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "memory/manifold.h"
#include "model/kind.h"

enum { DTPN_W, DTPN_U, DTPN_B, DTPN_BETA, DTPN_ALPHA, DTPN_WA, DTPN_Q, DTPN_K, DTPN_V, DTPN_GAMMA };

/* Sizes: state S (e | n | h | 𝓜), forward cache E per step (u, α, r, v | q, k), backward
 * scratch BW per step (d pre_u, d pre_α, dv_pre | du, dk_pre). proj per step: W x | W_α x. */
#define DTPN_S(H, M) (3 * (H) + (M) * (H))
#define DTPN_E(H, M) (4 * (H) + 2 * (M))
#define DTPN_BW(H, M) (3 * (H) + 2 * (M))

static mem_manifold dtpn_manifold(const mem_net *net, int64_t M, int64_t H) {
    const mem_arch *a = net->arch;
    mem_manifold mf;
    mf.M = M;
    mf.H = H;
    mf.Q = net->w + a->params[DTPN_Q].offset;
    mf.K = net->w + a->params[DTPN_K].offset;
    mf.V = net->w + a->params[DTPN_V].offset;
    MEM_FN(mem_manifold_set_gamma)(&mf, net->w[a->params[DTPN_GAMMA].offset]);
    return mf;
}

/* One lane's layer, echo and rate-gated memory: u = tanh(W x + U h_prev + b) (U h_prev on entry in
 * u), p = e = u + β ⊙ e_prev, α = σ(α̂ + W_α x), n = (1 - α) ⊙ n_prev + α ⊙ p. */
static MEM_SIMD_CLONES void dtpn_step_pn(int64_t H, const mem_real *restrict p_in, const mem_real *restrict bias,
                                         const mem_real *restrict beta, const mem_real *restrict e_p,
                                         const mem_real *restrict alpha_logit, const mem_real *restrict p_al,
                                         const mem_real *restrict n_p, mem_real *restrict u, mem_real *restrict p,
                                         mem_real *restrict al, mem_real *restrict n) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real uj = mr_tanh(p_in[j] + u[j] + bias[j]);
        const mem_real pj = uj + beta[j] * e_p[j];
        const mem_real aj = mr_sigmoid(alpha_logit[j] + p_al[j]);
        u[j] = uj;
        p[j] = pj;
        al[j] = aj;
        n[j] = (MEM_R(1) - aj) * n_p[j] + aj * pj;
    }
}

/* h = z = tanh(p + n + r) */
static MEM_SIMD_CLONES void dtpn_step_h(int64_t H, const mem_real *restrict p, const mem_real *restrict n,
                                        const mem_real *restrict r, mem_real *restrict h, mem_real *restrict zt) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real hj = mr_tanh(p[j] + n[j] + r[j]);
        h[j] = hj;
        zt[j] = hj;
    }
}

/* Backward through h = tanh(p + n + r): the pre-activation gradient reaches r (dr), n (gn, now the
 * gradient wrt n_t) and p (g_p, with the echo's carried gradient ge). */
static inline void dtpn_back_h(int64_t H, const mem_real *restrict gh, const mem_real *restrict dzt,
                               const mem_real *restrict h, const mem_real *restrict ge, mem_real *restrict dr,
                               mem_real *restrict gn, mem_real *restrict g_p) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real d_pre = (gh[j] + dzt[j]) * (MEM_R(1) - h[j] * h[j]);
        dr[j] = d_pre;
        gn[j] += d_pre;
        g_p[j] = ge[j] + d_pre;
    }
}

/* One lane's gradients in the backward of p and n: gn, ge the carried state gradients (in: wrt n_t
 * and e_t, out: wrt n_{t-1} and e_{t-1}); dpa, dpu the pre-activation gradients of α and u; d_beta
 * the lane block's sum. */
typedef struct dtpn_lane_grad {
    mem_real *restrict gn, *restrict ge, *restrict dpa, *restrict dpu, *restrict d_beta;
} dtpn_lane_grad;

static inline void dtpn_back_pn(int64_t H, const mem_real *restrict g_p, const mem_real *restrict g_q,
                                const mem_real *restrict g_w, const mem_real *restrict al,
                                const mem_real *restrict p, const mem_real *restrict n_p,
                                const mem_real *restrict e_p, const mem_real *restrict beta,
                                const mem_real *restrict u, dtpn_lane_grad lg) {
    mem_real *restrict gn = lg.gn, *restrict ge = lg.ge, *restrict dpa = lg.dpa, *restrict dpu = lg.dpu;
    mem_real *restrict d_beta = lg.d_beta;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g_n = gn[j];
        const mem_real gp = g_p[j] + g_q[j] + g_w[j] + al[j] * g_n;
        dpa[j] = g_n * (p[j] - n_p[j]) * al[j] * (MEM_R(1) - al[j]);
        gn[j] = (MEM_R(1) - al[j]) * g_n;
        d_beta[j] += gp * e_p[j];
        ge[j] = beta[j] * gp;
        dpu[j] = gp * (MEM_R(1) - u[j] * u[j]);
    }
}

static void dtpn_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const int64_t H = a->hidden, I = a->n_inputs, M = a->params[DTPN_Q].shape[0];
    const int64_t S = DTPN_S(H, M), E = DTPN_E(H, M), P = 2 * H;
    const mem_real *U = net->w + a->params[DTPN_U].offset;
    const mem_real *bias = net->w + a->params[DTPN_B].offset;
    const mem_real *beta_logit = net->w + a->params[DTPN_BETA].offset;
    const mem_real *alpha_logit = net->w + a->params[DTPN_ALPHA].offset;
    mem_real *beta = proj + T * B * P, *Ut = beta + H;
    for (int64_t j = 0; j < H; j++) beta[j] = mr_sigmoid(beta_logit[j]);
    /* Uᵀ once per window: the per-step product U h_{t-1} then reads U by columns and vectorises
     * across its outputs (mem_gemv_cols), each output summed in the same order as before. */
    mem_transpose(H, H, U, Ut);
    /* The input projections of the whole window, hoisted out of the time loop. */
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, net->w + a->params[DTPN_W].offset, I, MEM_R(0), proj, P,
                  net->n_threads);
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, net->w + a->params[DTPN_WA].offset, I, MEM_R(0), proj + H, P,
                  net->n_threads);
    const mem_manifold mf = dtpn_manifold(net, M, H);

    const int nt = mem_threads_for(net->n_threads, T * B * (8 * M * H + 4 * H * H + 30 * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                const mem_real *prev = states + (t * B + lane) * S;
                mem_real *next = states + ((t + 1) * B + lane) * S;
                mem_real *zt = z + (t * B + lane) * H;
                mem_real *u = extra + (t * B + lane) * E, *al = u + H, *r = al + H, *v = r + H;
                mem_real *q = v + H, *k = q + M;
                const mem_real *e_p = prev, *n_p = prev + H, *h_p = prev + 2 * H, *M_p = prev + 3 * H;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memcpy(zt, h_p, (size_t)H * sizeof *zt);
                    memset(u, 0, (size_t)E * sizeof *u);
                    continue;
                }
                const mem_real *p_in = proj + (t * B + lane) * P, *p_al = p_in + H;
                mem_real *p = next, *n = next + H, *h = next + 2 * H, *M_n = next + 3 * H;
                mem_gemv_cols(H, H, Ut, h_p, 0, u); /* U h_{t-1} */
                dtpn_step_pn(H, p_in, bias, beta, e_p, alpha_logit, p_al, n_p, u, p, al, n);
                MEM_FN(mem_manifold_read)(&mf, p, M_p, q, r);
                MEM_FN(mem_manifold_write)(&mf, p, M_p, M_n, k, v);
                dtpn_step_h(H, p, n, r, h, zt);
            }
        }
    }
}

static void dtpn_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                          const mem_real *states, const mem_real *proj, const mem_real *extra, const mem_real *dz,
                          mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const int64_t H = a->hidden, I = a->n_inputs, M = a->params[DTPN_Q].shape[0];
    const int64_t S = DTPN_S(H, M), E = DTPN_E(H, M), BW = DTPN_BW(H, M), P = 2 * H, TB = T * B;
    const int64_t GPB = a->grad_per_block;
    const mem_real *U = net->w + a->params[DTPN_U].offset;
    const mem_real *beta = proj + TB * P;
    const mem_manifold mf = dtpn_manifold(net, M, H);
    mem_real *partials = scratch + TB * BW; /* per block: dβ | dγ | temporaries (4 H) */

    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, T * B * (12 * M * H + 6 * H * H + 40 * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        memset(partials + b0 / MEM_LANE_BLOCK * GPB, 0,
               (size_t)(mem_lane_blocks(b_end) - b0 / MEM_LANE_BLOCK) * (size_t)GPB * sizeof *partials);
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                /* the lane's block's sums (the same order of additions in any chunk) and temporaries */
                mem_real *d_beta = partials + lane / MEM_LANE_BLOCK * GPB, *d_gamma = d_beta + H;
                mem_real *dr = d_gamma + 1, *g_q = dr + H, *g_w = g_q + H, *g_p = g_w + H;
                mem_real *ge = d_state + lane * S, *gn = ge + H, *gh = ge + 2 * H, *gM = ge + 3 * H;
                const mem_real *dzt = dz + (t * B + lane) * H;
                mem_real *dpu = scratch + (t * B + lane) * BW, *dpa = dpu + H, *dv = dpa + H, *du = dv + H;
                mem_real *dk = du + M;
                if (mem_lane_held(len, t, lane)) {
                    /* z_t copies the held h, and the state passes through unchanged. */
                    for (int64_t j = 0; j < H; j++) gh[j] += dzt[j];
                    memset(dpu, 0, (size_t)BW * sizeof *dpu);
                    continue;
                }
                const mem_real *u = extra + (t * B + lane) * E, *al = u + H, *v = al + 2 * H;
                const mem_real *q = v + H, *k = q + M;
                const mem_real *prev = states + (t * B + lane) * S, *next = states + ((t + 1) * B + lane) * S;
                const mem_real *e_p = prev, *n_p = prev + H, *M_p = prev + 3 * H;
                const mem_real *p = next, *h = next + 2 * H;
                dtpn_back_h(H, gh, dzt, h, ge, dr, gn, g_p);
                MEM_FN(mem_manifold_step_backward)(&mf, M_p, q, k, v, dr, gM, du, dk, dv, g_q, g_w, d_gamma);
                const dtpn_lane_grad lg = {gn, ge, dpa, dpu, d_beta};
                dtpn_back_pn(H, g_p, g_q, g_w, al, p, n_p, e_p, beta, u, lg);
                /* gradient wrt h_{t-1}: Uᵀ d pre_u (U read by rows: its columns are Uᵀ's) */
                mem_gemv_cols(H, H, U, dpu, 0, gh);
            }
        }
    }

    const int learn_rates = a->params[DTPN_BETA].trainable;
    mem_real *g_beta = net->g + a->params[DTPN_BETA].offset;
    mem_real *g_gamma = net->g + a->params[DTPN_GAMMA].offset;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *d_beta = partials + blk * GPB, *d_gamma = d_beta + H;
        if (learn_rates)
            for (int64_t j = 0; j < H; j++) g_beta[j] += d_beta[j] * beta[j] * (MEM_R(1) - beta[j]);
        g_gamma[0] += d_gamma[0] * mf.gamma * mf.one_minus_gamma;
    }
    /* Matrix gradients over the window (held rows of the scratch are zero). */
    const mem_real *dpu_all = scratch, *dpa_all = scratch + H;
    mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpu_all, BW, x, I, MEM_R(1), net->g + a->params[DTPN_W].offset, I,
                  net->n_threads);
    mem_gemm_real(1, 0, H, H, TB, MEM_R(1), dpu_all, BW, states + 2 * H, S, MEM_R(1),
                  net->g + a->params[DTPN_U].offset, H, net->n_threads);
    mem_column_sums_add(dpu_all, TB, H, BW, net->g + a->params[DTPN_B].offset);
    if (learn_rates) {
        mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpa_all, BW, x, I, MEM_R(1), net->g + a->params[DTPN_WA].offset, I,
                      net->n_threads);
        mem_column_sums_add(dpa_all, TB, H, BW, net->g + a->params[DTPN_ALPHA].offset);
    }
    /* Q, K and V against p_t = e_t (slots 1..T of the states). */
    MEM_FN(mem_manifold_param_grads)(&mf, TB, scratch + 3 * H, BW, states + B * S, S, scratch + 3 * H + M, BW,
                                     scratch + 2 * H, BW, states + B * S, S, net->g + a->params[DTPN_Q].offset,
                                     net->g + a->params[DTPN_K].offset, net->g + a->params[DTPN_V].offset,
                                     net->n_threads);
}

const mem_cell_ops MEM_FN(mem_dtpn_ops) = {dtpn_forward, dtpn_backward, NULL};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)

static const mem_param_def dtpn_params[] = {
    {"beta", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.3, 0, 1, OPEN_BOTH, NULL,
     "echo strength: p_t = u_t + beta * e_{t-1} (per-neuron initial value)"},
    {"alpha", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.1, 0, 1, OPEN_BOTH, NULL,
     "memory rate at zero input: n_t = (1 - alpha_t) n_{t-1} + alpha_t p_t with alpha_t = "
     "sigmoid(logit(alpha) + W_alpha x_t) (per-neuron initial value; W_alpha starts at 0)"},
    {"learn_memory", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "train beta, alpha and the rate's input gate W_alpha (0 keeps the initial rates)"},
    {"spread_init", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "spread each neuron's beta and alpha logits uniformly +-1.5 around the given value"},
    {"memory_manifold_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 32, 1, 65536, 0, NULL,
     "rows M of the associative memory manifold (M x hidden_size)"},
    {"memory_decay", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.99, 0, 1, OPEN_BOTH, NULL,
     "initial manifold decay gamma (learned): M_t = gamma M_{t-1} + (1 - gamma) k v^T"},
};

static mem_status dtpn_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int64_t M = (int64_t)mem_config_value(cfg, "memory_manifold_size");
    const int learn = mem_config_value(cfg, "learn_memory") != 0;
    const double spread = mem_config_value(cfg, "spread_init") != 0 ? 1.5 : 0.0;
    const int64_t hi[2] = {H, I}, hh[2] = {H, H}, mh[2] = {M, H}, one = 1;
    const char *ax_hi[2] = {"H", "I"}, *ax_hh[2] = {"H", "H"}, *ax_mh[2] = {"M", "H"}, *ax_h[1] = {"H"};
    const char *ax_1[1] = {"1"};
    const double kv_std = 1.0 / sqrt((double)H);
    /* registration order = the DTPN_* indices */
    MEM_CHECK(mem_arch_add_param(a, "W", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "U", 2, hh, ax_hh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "beta_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD, mem_config_value(cfg, "beta"),
                                 spread, learn, 0));
    MEM_CHECK(mem_arch_add_param(a, "alpha_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "alpha"), spread, learn, 0));
    MEM_CHECK(mem_arch_add_param(a, "W_alpha", 2, hi, ax_hi, MEM_INIT_ZERO, 0, 0, learn, 1));
    MEM_CHECK(mem_arch_add_param(a, "Q", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "K", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "V", 2, hh, ax_hh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "gamma_logit", 1, &one, ax_1, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "memory_decay"), 0, 1, 0));
    MEM_CHECK(mem_arch_add_state(a, "e", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "n", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "h", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "manifold", 2, mh, ax_mh));
    a->proj_per_step = 2 * H;
    a->per_window = H + H * H; /* β, Uᵀ */
    a->extra_per_step = DTPN_E(H, M);
    a->bwd_per_step = DTPN_BW(H, M);
    a->grad_per_block = 5 * H + 1;
    return MEM_OK;
}

static const char *const dtpn_diag_names[] = {"echo_magnitude", "memory_magnitude", "matrix_energy"};

/* All three read the stored memory (one lane): mean |e|, mean |n|, mean |𝓜|. */
static mem_status dtpn_diag(const mem_arch *a, const float *w, const float *memory, const double *stats, int index,
                            double *values, int64_t capacity, int64_t *n_values) {
    (void)w;
    (void)stats;
    const int64_t H = a->hidden, M = a->states[3].shape[0];
    double v;
    if (index == 2) {
        v = mem_manifold_energy(memory + 3 * H, M * H);
    } else {
        const float *src = memory + (index == 0 ? 0 : H);
        v = 0;
        for (int64_t j = 0; j < H; j++) v += fabs((double)src[j]);
        v /= (double)H;
    }
    *n_values = 1;
    if (capacity >= 1) values[0] = v;
    return MEM_OK;
}

const mem_kind mem_kind_dtpn = {
    .name = "dtpn",
    .doc = "dual-track persistence network: per-neuron echo, input-gated neuron memory and an associative "
           "memory manifold around a recurrent tanh layer",
    .params = dtpn_params,
    .n_params = (int)(sizeof dtpn_params / sizeof dtpn_params[0]),
    .default_learning_rate = 0.02, /* bench/learning_rate_sweep.md */
    .default_skip = 1,
    .layout = dtpn_layout,
    .diag_names = dtpn_diag_names,
    .n_diags = 3,
    .diag = dtpn_diag,
    .ops_f32 = &mem_dtpn_ops_f32,
};
#endif
