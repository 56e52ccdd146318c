/* AMRC — adaptive memory recurrent cell (spec/cells.md): every neuron keeps its own echo of its
 * last output and a leaky memory that feeds back through a learned gain; there is no recurrent
 * matrix, so lanes and neurons are independent across time and one pass over a window needs only
 * the hoisted input projection plus elementwise work.
 *
 *   u_t = tanh(W x_t + b + w_m ⊙ m_{t-1})
 *   h_t = u_t + β ⊙ h_{t-1}
 *   m_t = (1 - α) ⊙ m_{t-1} + α ⊙ u_t          z_t = h_t,  β = σ(β̂), α = σ(α̂)
 *
 * Compiled twice (float and double, see core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "core/error.h"
#include "cells/echo_memory.h"
#include "cells/echo_memory_step.h"
#include "kernels/gemm.h"
#include "model/kind.h"

enum { AMRC_W, AMRC_B, AMRC_WM, AMRC_BETA, AMRC_ALPHA };

/* One lane's step (restrict pointers: the loop vectorises):
 * u = tanh(p + b + w_m ⊙ m_prev), h = z = u + β ⊙ h_prev, m = (1 - α) ⊙ m_prev + α ⊙ u. */
static MEM_SIMD_CLONES void amrc_step(int64_t H, const mem_real *restrict p, const mem_real *restrict bias,
                             const mem_real *restrict wm, const mem_real *restrict beta,
                             const mem_real *restrict alpha, const mem_real *restrict h_prev,
                             const mem_real *restrict m_prev, mem_real *restrict u, mem_real *restrict h,
                             mem_real *restrict m, mem_real *restrict zt) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real uj = mr_tanh(p[j] + bias[j] + wm[j] * m_prev[j]);
        const mem_real hj = uj + beta[j] * h_prev[j];
        u[j] = uj;
        h[j] = hj;
        m[j] = (MEM_R(1) - alpha[j]) * m_prev[j] + alpha[j] * uj;
        zt[j] = hj;
    }
}

static void amrc_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const int64_t H = a->hidden, I = a->n_inputs, S = 2 * H;
    const mem_real *W = net->w + a->params[AMRC_W].offset;
    const mem_real *bias = net->w + a->params[AMRC_B].offset;
    const mem_real *wm = net->w + a->params[AMRC_WM].offset;
    const mem_real *beta_logit = net->w + a->params[AMRC_BETA].offset;
    const mem_real *alpha_logit = net->w + a->params[AMRC_ALPHA].offset;
    mem_real *beta = proj + T * B * H, *alpha = beta + H;
    for (int64_t j = 0; j < H; j++) {
        beta[j] = mr_sigmoid(beta_logit[j]);
        alpha[j] = mr_sigmoid(alpha_logit[j]);
    }
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, W, I, MEM_R(0), proj, H, net->n_threads);

    const int nt = mem_threads_for(net->n_threads, 8 * T * B * H);
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
                mem_real *u = extra + (t * B + lane) * H;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memcpy(zt, prev, (size_t)H * sizeof *zt);
                    memset(u, 0, (size_t)H * sizeof *u);
                    continue;
                }
                amrc_step(H, proj + (t * B + lane) * H, bias, wm, beta, alpha, prev, prev + H, u, next, next + H, zt);
            }
        }
    }
}

static void amrc_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                          const mem_real *states, const mem_real *proj, const mem_real *extra,
                          const mem_real *dz, mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const int64_t H = a->hidden, I = a->n_inputs, S = 2 * H;
    const mem_real *wm = net->w + a->params[AMRC_WM].offset;
    const mem_real *beta = proj + T * B * H, *alpha = beta + H;
    mem_real *dpre_all = scratch;
    mem_real *partials = scratch + T * B * H; /* per block: d w_m | d β | d α */
    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, 12 * T * B * H);
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        memset(partials + b0 / MEM_LANE_BLOCK * 3 * H, 0,
               (size_t)(mem_lane_blocks(b_end) - b0 / MEM_LANE_BLOCK) * 3 * (size_t)H * sizeof *partials);
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                mem_real *gh = d_state + lane * S, *gm = gh + H;
                const mem_real *dzt = dz + (t * B + lane) * H;
                mem_real *dpre = dpre_all + (t * B + lane) * H;
                if (mem_lane_held(len, t, lane)) {
                    /* z_t copies the held h, and the state passes through unchanged. */
                    for (int64_t j = 0; j < H; j++) gh[j] += dzt[j];
                    memset(dpre, 0, (size_t)H * sizeof *dpre);
                    continue;
                }
                /* the lane's block's gradient sums: the same order of additions in any chunk */
                mem_real *d_wm = partials + lane / MEM_LANE_BLOCK * 3 * H;
                const mem_real *prev = states + (t * B + lane) * S;
                const mem_echo_grad lg = {gh, gm, dpre, d_wm + H, d_wm + 2 * H, d_wm};
                mem_echo_back(H, dzt, extra + (t * B + lane) * H, prev, prev + H, alpha, beta, wm, lg);
            }
        }
    }
    mem_real *g_wm = net->g + a->params[AMRC_WM].offset;
    mem_real *g_beta = net->g + a->params[AMRC_BETA].offset;
    mem_real *g_alpha = net->g + a->params[AMRC_ALPHA].offset;
    const int learn_rates = a->params[AMRC_BETA].trainable;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *d_wm = partials + blk * 3 * H, *d_beta = d_wm + H, *d_alpha = d_beta + H;
        for (int64_t j = 0; j < H; j++) {
            g_wm[j] += d_wm[j];
            if (learn_rates) {
                g_beta[j] += d_beta[j] * beta[j] * (MEM_R(1) - beta[j]);
                g_alpha[j] += d_alpha[j] * alpha[j] * (MEM_R(1) - alpha[j]);
            }
        }
    }
    mem_real *g_w = net->g + a->params[AMRC_W].offset;
    mem_real *g_b = net->g + a->params[AMRC_B].offset;
    mem_gemm_real(1, 0, H, I, T * B, MEM_R(1), dpre_all, H, x, I, MEM_R(1), g_w, I, net->n_threads);
    mem_column_sums_add(dpre_all, T * B, H, H, g_b);
}

const mem_cell_ops MEM_FN(mem_amrc_ops) = {amrc_forward, amrc_backward, NULL};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

static const mem_param_def amrc_params[] = {
    {"beta", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.3, 0.0, 1.0, MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN, NULL,
     "echo strength: h_t = u_t + beta * h_{t-1} (per-neuron initial value)"},
    {"alpha", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.1, 0.0, 1.0, MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN, NULL,
     "memory rate: m_t = (1 - alpha) m_{t-1} + alpha u_t (per-neuron initial value)"},
    {"learn_memory", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL, "train beta and alpha per neuron"},
    {"spread_init", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "spread each neuron's beta and alpha logits uniformly +-1.5 around the given value"},
};

static mem_status amrc_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int learn = mem_config_value(cfg, "learn_memory") != 0;
    const double spread = mem_config_value(cfg, "spread_init") != 0 ? 1.5 : 0.0;
    const int64_t hi[2] = {H, I};
    const char *ax_hi[2] = {"H", "I"}, *ax_h[1] = {"H"};
    MEM_CHECK(mem_arch_add_param(a, "W", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "w_m", 1, &H, ax_h, MEM_INIT_CONST, 0.5, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "beta_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "beta"), spread, learn, 0));
    MEM_CHECK(mem_arch_add_param(a, "alpha_logit", 1, &H, ax_h, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "alpha"), spread, learn, 0));
    MEM_CHECK(mem_arch_add_state(a, "h", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "m", 1, &H, ax_h));
    a->proj_per_step = H;
    a->per_window = 2 * H;
    a->extra_per_step = H;
    a->bwd_per_step = H;
    a->grad_per_block = 3 * H;
    return MEM_OK;
}

const mem_kind mem_kind_amrc = {
    .name = "amrc",
    .doc = "adaptive memory recurrent cell: per-neuron echo and leaky memory with a learned gain",
    .params = amrc_params,
    .n_params = (int)(sizeof amrc_params / sizeof amrc_params[0]),
    .default_learning_rate = 0.03, /* bench/learning_rate_sweep.md */
    .default_skip = 0,
    .layout = amrc_layout,
    .diag_names = mem_echo_memory_diag_names,
    .n_diags = MEM_ECHO_MEMORY_N_DIAGS,
    .diag = mem_echo_memory_diag,
    .ops_f32 = &mem_amrc_ops_f32,
};
#endif
