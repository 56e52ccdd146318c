/* PMRC — persistent memory recurrent cell (spec/cells.md): AMRC's per-neuron echo and memory plus
 * an optional recurrent matrix and an optional learned gate on the memory. Every product reads
 * step t-1 values only (the original updated units in place and mixed t and t-1 across units).
 *
 *   a_t = W x_t + [U h_{t-1}] + b + w_m ⊙ m_{t-1};   u_t = tanh(a_t)
 *   gates:    g_t = σ(W_g x_t + U_g m_{t-1} + b_g),  c_t = tanh(W_c x_t + b_c),
 *             m_t = g_t ⊙ c_t + (1 - g_t) ⊙ m_{t-1}
 *   no gates: m_t = (1 - α) ⊙ m_{t-1} + α ⊙ u_t
 *   h_t = u_t + β ⊙ h_{t-1};  z_t = h_t,  β = σ(β̂), α = σ(α̂)
 *
 * The input projections of the whole window are hoisted into GEMMs. The recurrent products run per
 * step and lane block as single-threaded GEMMs on the strided state rows, inside the parallel loop
 * over blocks, so a lane's result never depends on the thread count. Compiled twice (float and
 * double, see core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "core/error.h"
#include "cells/echo_memory.h"
#include "cells/echo_memory_step.h"
#include "kernels/gemm.h"
#include "model/kind.h"

/* Parameter tensors present in a model (the table depends on use_recurrent and use_learnable_gates),
 * resolved by name once per call; absent ones are NULL / -1. */
typedef struct pmrc_ix {
    int W, U, b, wm, beta, alpha, Wg, Ug, bg, Wc, bc;
    int gates;
} pmrc_ix;

static pmrc_ix pmrc_resolve(const mem_arch *a) {
    pmrc_ix p;
    p.W = mem_arch_find_param(a, "W");
    p.U = mem_arch_find_param(a, "U");
    p.b = mem_arch_find_param(a, "b");
    p.wm = mem_arch_find_param(a, "w_m");
    p.beta = mem_arch_find_param(a, "beta_logit");
    p.alpha = mem_arch_find_param(a, "alpha_logit");
    p.Wg = mem_arch_find_param(a, "W_g");
    p.Ug = mem_arch_find_param(a, "U_g");
    p.bg = mem_arch_find_param(a, "b_g");
    p.Wc = mem_arch_find_param(a, "W_c");
    p.bc = mem_arch_find_param(a, "b_c");
    p.gates = p.Wg >= 0;
    return p;
}

static const mem_real *param_ptr(const mem_real *base, const mem_arch *a, int index) {
    return index >= 0 ? base + a->params[index].offset : NULL;
}

/* Widths: proj and the backward scratch hold [W x | W_g x | W_c x] (and [da | dg | dc]); the
 * forward cache holds [u | g | c]. Without gates only the first H columns exist. */
static int64_t pmrc_width(const mem_arch *a) { return mem_arch_find_param(a, "W_g") >= 0 ? 3 * a->hidden : a->hidden; }

/* One lane's step, split in loops whose pointers are restrict (distinct arrays, or disjoint parts
 * of one), so that they vectorise without run-time alias checks.
 * u = tanh(p + r + b + w_m ⊙ m_prev), r on entry in u;  h = z = u + β ⊙ h_prev. */
static MEM_SIMD_CLONES void pmrc_step_h(int64_t H, const mem_real *restrict p, const mem_real *restrict bias,
                               const mem_real *restrict wm, const mem_real *restrict beta,
                               const mem_real *restrict h_prev, const mem_real *restrict m_prev,
                               mem_real *restrict u, mem_real *restrict h, mem_real *restrict zt) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real uj = mr_tanh(p[j] + u[j] + bias[j] + wm[j] * m_prev[j]);
        const mem_real hj = uj + beta[j] * h_prev[j];
        u[j] = uj;
        h[j] = hj;
        zt[j] = hj;
    }
}

/* g = σ(pg + r_g + b_g) (r_g on entry in g), c = tanh(pc + b_c), m = g ⊙ c + (1 - g) ⊙ m_prev */
static MEM_SIMD_CLONES void pmrc_step_gated_m(int64_t H, const mem_real *restrict pg, const mem_real *restrict pc,
                                     const mem_real *restrict bg, const mem_real *restrict bc,
                                     const mem_real *restrict m_prev, mem_real *restrict g,
                                     mem_real *restrict c, mem_real *restrict m) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real gj = mr_sigmoid(pg[j] + g[j] + bg[j]);
        const mem_real cj = mr_tanh(pc[j] + bc[j]);
        g[j] = gj;
        c[j] = cj;
        m[j] = gj * cj + (MEM_R(1) - gj) * m_prev[j];
    }
}

static void pmrc_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const pmrc_ix ix = pmrc_resolve(a);
    const int64_t H = a->hidden, I = a->n_inputs, S = 2 * H, E = pmrc_width(a);
    const mem_real *W = param_ptr(net->w, a, ix.W), *U = param_ptr(net->w, a, ix.U);
    const mem_real *bias = param_ptr(net->w, a, ix.b), *wm = param_ptr(net->w, a, ix.wm);
    const mem_real *beta_logit = param_ptr(net->w, a, ix.beta), *alpha_logit = param_ptr(net->w, a, ix.alpha);
    const mem_real *Ug = param_ptr(net->w, a, ix.Ug), *bg = param_ptr(net->w, a, ix.bg);
    const mem_real *bc = param_ptr(net->w, a, ix.bc);
    mem_real *beta = proj + T * B * E, *alpha = beta + H;
    for (int64_t j = 0; j < H; j++) {
        beta[j] = mr_sigmoid(beta_logit[j]);
        alpha[j] = alpha_logit ? mr_sigmoid(alpha_logit[j]) : MEM_R(0);
    }
    /* Uᵀ and U_gᵀ once per window, so the per-step products read the matrices in place instead of
     * repacking a transposed operand every step (same products in the same order: same bits). */
    mem_real *Ut = alpha + H, *Ugt = Ut + (U ? H * H : 0);
    if (U) mem_transpose(H, H, U, Ut);
    if (Ug) mem_transpose(H, H, Ug, Ugt);
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, W, I, MEM_R(0), proj, E, net->n_threads);
    if (ix.gates) {
        mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, param_ptr(net->w, a, ix.Wg), I, MEM_R(0), proj + H, E,
                      net->n_threads);
        mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, param_ptr(net->w, a, ix.Wc), I, MEM_R(0), proj + 2 * H, E,
                      net->n_threads);
    }

    const int64_t rec = (U ? 2 * H : 0) + (Ug ? 2 * H : 0);
    const int nt = mem_threads_for(net->n_threads, (8 + rec) * T * B * H);
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        const int64_t nb = b_end - b0;
        for (int64_t t = 0; t < T; t++) {
            /* Recurrent products of the chunk's lanes from slot t (step t-1 values), written into
             * the cache rows where u and g will be completed in place. */
            const mem_real *prev_rows = states + (t * B + b0) * S;
            mem_real *cache_rows = extra + (t * B + b0) * E;
            if (U) mem_gemm_real(0, 0, nb, H, H, MEM_R(1), prev_rows, S, Ut, H, MEM_R(0), cache_rows, E, 1);
            if (Ug) mem_gemm_real(0, 0, nb, H, H, MEM_R(1), prev_rows + H, S, Ugt, H, MEM_R(0), cache_rows + H, E, 1);
            for (int64_t lane = b0; lane < b_end; lane++) {
                const mem_real *prev = states + (t * B + lane) * S;
                mem_real *next = states + ((t + 1) * B + lane) * S;
                mem_real *zt = z + (t * B + lane) * H;
                mem_real *cache = extra + (t * B + lane) * E;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memcpy(zt, prev, (size_t)H * sizeof *zt);
                    memset(cache, 0, (size_t)E * sizeof *cache);
                    continue;
                }
                const mem_real *p = proj + (t * B + lane) * E;
                /* cache (u) holds the recurrent term; read unconditionally, the loop vectorises */
                if (!U) memset(cache, 0, (size_t)H * sizeof *cache);
                pmrc_step_h(H, p, bias, wm, beta, prev, prev + H, cache, next, zt);
                if (ix.gates) pmrc_step_gated_m(H, p + H, p + 2 * H, bg, bc, prev + H, cache + H, cache + 2 * H, next + H);
                else mem_echo_step_m(H, alpha, prev + H, cache, next + H);
            }
        }
    }
}

/* The gated memory's backward step (see mem_echo_back for the arguments). */
static MEM_SIMD_CLONES void pmrc_back_gated(int64_t H, const mem_real *restrict dzt, const mem_real *restrict u,
                                   const mem_real *restrict g, const mem_real *restrict c,
                                   const mem_real *restrict h_prev, const mem_real *restrict m_prev,
                                   const mem_real *restrict beta, const mem_real *restrict wm,
                                   mem_echo_grad lg) {
    mem_real *restrict gh = lg.gh, *restrict gm = lg.gm, *restrict dpre = lg.dpre;
    mem_real *restrict d_beta = lg.d_beta, *restrict d_wm = lg.d_wm;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g_h = gh[j] + dzt[j], g_m = gm[j];
        const mem_real da = g_h * (MEM_R(1) - u[j] * u[j]);
        const mem_real dgl = g_m * (c[j] - m_prev[j]) * g[j] * (MEM_R(1) - g[j]);
        const mem_real dcp = g_m * g[j] * (MEM_R(1) - c[j] * c[j]);
        dpre[j] = da;
        dpre[H + j] = dgl;
        dpre[2 * H + j] = dcp;
        d_beta[j] += g_h * h_prev[j];
        d_wm[j] += da * m_prev[j];
        gh[j] = beta[j] * g_h;
        gm[j] = (MEM_R(1) - g[j]) * g_m + wm[j] * da;
    }
}

/* out[j] += sum over rows r of a[r * lda + j], rows in increasing order (deterministic). */
static void pmrc_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                          const mem_real *states, const mem_real *proj, const mem_real *extra,
                          const mem_real *dz, mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const pmrc_ix ix = pmrc_resolve(a);
    const int64_t H = a->hidden, I = a->n_inputs, S = 2 * H, E = pmrc_width(a), TB = T * B;
    const mem_real *U = param_ptr(net->w, a, ix.U), *Ug = param_ptr(net->w, a, ix.Ug);
    const mem_real *wm = param_ptr(net->w, a, ix.wm);
    const mem_real *beta = proj + TB * E, *alpha = beta + H;
    mem_real *dpre_all = scratch;        /* T x B x E: [da | d(gate logit) | d(candidate pre)] */
    mem_real *partials = scratch + TB * E; /* per block: d w_m | d β | d α */
    const int64_t n_blocks = mem_lane_blocks(B);
    const int64_t rec = (U ? 2 * H : 0) + (Ug ? 2 * H : 0);
    const int nt = mem_threads_for(net->n_threads, (14 + rec) * TB * H);
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        const int64_t nb = b_end - b0;
        memset(partials + b0 / MEM_LANE_BLOCK * 3 * H, 0,
               (size_t)(mem_lane_blocks(b_end) - b0 / MEM_LANE_BLOCK) * 3 * (size_t)H * sizeof *partials);
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                /* the lane's block's gradient sums: the same order of additions in any chunk */
                mem_real *d_wm = partials + lane / MEM_LANE_BLOCK * 3 * H, *d_beta = d_wm + H, *d_alpha = d_beta + H;
                mem_real *gh = d_state + lane * S, *gm = gh + H;
                const mem_real *dzt = dz + (t * B + lane) * H;
                mem_real *dpre = dpre_all + (t * B + lane) * E;
                if (mem_lane_held(len, t, lane)) {
                    /* z_t copies the held h, and the state passes through unchanged. */
                    for (int64_t j = 0; j < H; j++) gh[j] += dzt[j];
                    memset(dpre, 0, (size_t)E * sizeof *dpre);
                    continue;
                }
                const mem_real *prev = states + (t * B + lane) * S;
                const mem_real *u = extra + (t * B + lane) * E;
                const mem_echo_grad lg = {gh, gm, dpre, d_beta, d_alpha, d_wm};
                if (ix.gates) pmrc_back_gated(H, dzt, u, u + H, u + 2 * H, prev, prev + H, beta, wm, lg);
                else mem_echo_back(H, dzt, u, prev, prev + H, alpha, beta, wm, lg);
            }
            /* The recurrent products' share of the state gradient: d h_{t-1} += da U and
             * d m_{t-1} += d(gate logit) U_g for the chunk's lanes (held lanes have zero rows). */
            const mem_real *drows = dpre_all + (t * B + b0) * E;
            if (U) mem_gemm_real(0, 0, nb, H, H, MEM_R(1), drows, E, U, H, MEM_R(1), d_state + b0 * S, S, 1);
            if (Ug) mem_gemm_real(0, 0, nb, H, H, MEM_R(1), drows + H, E, Ug, H, MEM_R(1), d_state + b0 * S + H, S, 1);
        }
    }
    mem_real *g_wm = net->g + a->params[ix.wm].offset;
    mem_real *g_beta = net->g + a->params[ix.beta].offset;
    mem_real *g_alpha = ix.alpha >= 0 ? net->g + a->params[ix.alpha].offset : NULL;
    const int learn_rates = a->params[ix.beta].trainable;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *d_wm = partials + blk * 3 * H, *d_beta = d_wm + H, *d_alpha = d_beta + H;
        for (int64_t j = 0; j < H; j++) {
            g_wm[j] += d_wm[j];
            if (learn_rates) {
                g_beta[j] += d_beta[j] * beta[j] * (MEM_R(1) - beta[j]);
                if (g_alpha) g_alpha[j] += d_alpha[j] * alpha[j] * (MEM_R(1) - alpha[j]);
            }
        }
    }
    /* Weight gradients over the whole window: input matrices against x, recurrent matrices against
     * the step t-1 states (slots 0..T-1 are the first T*B rows of the state array). */
    mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpre_all, E, x, I, MEM_R(1), net->g + a->params[ix.W].offset, I,
                  net->n_threads);
    mem_column_sums_add(dpre_all, TB, H, E, net->g + a->params[ix.b].offset);
    if (U)
        mem_gemm_real(1, 0, H, H, TB, MEM_R(1), dpre_all, E, states, S, MEM_R(1), net->g + a->params[ix.U].offset, H,
                      net->n_threads);
    if (ix.gates) {
        mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpre_all + H, E, x, I, MEM_R(1), net->g + a->params[ix.Wg].offset, I,
                      net->n_threads);
        mem_gemm_real(1, 0, H, H, TB, MEM_R(1), dpre_all + H, E, states + H, S, MEM_R(1),
                      net->g + a->params[ix.Ug].offset, H, net->n_threads);
        mem_column_sums_add(dpre_all + H, TB, H, E, net->g + a->params[ix.bg].offset);
        mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpre_all + 2 * H, E, x, I, MEM_R(1), net->g + a->params[ix.Wc].offset,
                      I, net->n_threads);
        mem_column_sums_add(dpre_all + 2 * H, TB, H, E, net->g + a->params[ix.bc].offset);
    }
}

const mem_cell_ops MEM_FN(mem_pmrc_ops) = {pmrc_forward, pmrc_backward, NULL};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

static const mem_param_def pmrc_config[] = {
    {"beta", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.3, 0.0, 1.0, MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN, NULL,
     "echo strength: h_t = u_t + beta * h_{t-1} (per-neuron initial value)"},
    {"alpha", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.1, 0.0, 1.0, MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN, NULL,
     "memory rate without gates: m_t = (1 - alpha) m_{t-1} + alpha u_t (per-neuron initial value; unused "
     "with use_learnable_gates)"},
    {"learn_memory", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL, "train beta and alpha per neuron"},
    {"spread_init", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "spread each neuron's beta and alpha logits uniformly +-1.5 around the given value"},
    {"use_recurrent", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "add the recurrent term U h_{t-1} to the pre-activation"},
    {"use_learnable_gates", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 0, 0, 1, 0, NULL,
     "gate the memory: m_t = g_t c_t + (1 - g_t) m_{t-1} with g_t = sigmoid(W_g x_t + U_g m_{t-1} + b_g), "
     "c_t = tanh(W_c x_t + b_c), instead of the fixed-rate alpha update"},
};

static mem_status pmrc_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int learn = mem_config_value(cfg, "learn_memory") != 0;
    const int recurrent = mem_config_value(cfg, "use_recurrent") != 0;
    const int gates = mem_config_value(cfg, "use_learnable_gates") != 0;
    const double spread = mem_config_value(cfg, "spread_init") != 0 ? 1.5 : 0.0;
    const int64_t hi[2] = {H, I}, hh[2] = {H, H};
    const char *ax_hi[2] = {"H", "I"}, *ax_hh[2] = {"H", "H"}, *ax_h[1] = {"H"};
    MEM_CHECK(mem_arch_add_param(a, "W", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    if (recurrent) MEM_CHECK(mem_arch_add_param(a, "U", 2, hh, ax_hh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "w_m", 1, &H, ax_h, MEM_INIT_CONST, 0.5, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "beta_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "beta"), spread, learn, 0));
    if (!gates) {
        MEM_CHECK(mem_arch_add_param(a, "alpha_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD,
                                     mem_config_value(cfg, "alpha"), spread, learn, 0));
    } else {
        MEM_CHECK(mem_arch_add_param(a, "W_g", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
        MEM_CHECK(mem_arch_add_param(a, "U_g", 2, hh, ax_hh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
        MEM_CHECK(mem_arch_add_param(a, "b_g", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
        MEM_CHECK(mem_arch_add_param(a, "W_c", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
        MEM_CHECK(mem_arch_add_param(a, "b_c", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    }
    MEM_CHECK(mem_arch_add_state(a, "h", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "m", 1, &H, ax_h));
    const int64_t E = gates ? 3 * H : H;
    a->proj_per_step = E;
    a->per_window = 2 * H + (recurrent ? H * H : 0) + (gates ? H * H : 0); /* β, α, Uᵀ, U_gᵀ */
    a->extra_per_step = E;
    a->bwd_per_step = E;
    a->grad_per_block = 3 * H;
    return MEM_OK;
}

const mem_kind mem_kind_pmrc = {
    .name = "pmrc",
    .doc = "persistent memory recurrent cell: per-neuron echo and memory, a recurrent matrix and an optional "
           "learned memory gate",
    .params = pmrc_config,
    .n_params = (int)(sizeof pmrc_config / sizeof pmrc_config[0]),
    .default_learning_rate = 0.03, /* bench/learning_rate_sweep.md */
    .default_skip = 0,
    .layout = pmrc_layout,
    .diag_names = mem_echo_memory_diag_names,
    .n_diags = MEM_ECHO_MEMORY_N_DIAGS,
    .diag = mem_echo_memory_diag,
    .ops_f32 = &mem_pmrc_ops_f32,
};
#endif
