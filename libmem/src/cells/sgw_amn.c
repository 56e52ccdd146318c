/* SGW-AMN — sparse global workspace (spec/cells.md): P candidates compete by salience; the k
 * winners write into a small workspace that integrates over time (liquid step) with a Hebbian
 * memory Ω of its own; the workspace is broadcast to the hidden layer, which reads and writes an
 * associative memory manifold.
 *
 *   p_t = gelu(W_in x_t + b_in) ∈ R^P (erf form);  c_i = |p_i| softplus(ŝ_i);  π_t = softmax(c / T)
 *   top-k winners of π (ties to the lower index);  π̃_i = π_i / Σ_{j∈top} π_j
 *   u_t = Σ_{i∈top} π̃_i p_i R_i ∈ R^W
 *   g_t = tanh(u_t + Ω_{t-1} w_{t-1}),  λ_t = softplus(a_w + W_λw u_t)
 *   w_t = e^{-λ_t} w_{t-1} + (1 - e^{-λ_t}) g_t            (liquid step, dt = 1; cells/liquid.h)
 *   Ω_t = ω Ω_{t-1} + (1 - ω) w_t w_tᵀ
 *   b_t = tanh(E w_t) ∈ R^H;  manifold (memory/manifold.h) with q_src = w_src = b_t;  z_t = b_t + r_t
 *   auxiliary loss: sparsity · mean_i |w_t,i| per step
 *
 * Gradients flow through the winners' π (and, through the softmax normaliser, to every salience)
 * and p; the winner set is piecewise constant (its boundaries, and |p| = 0, |w| = 0, have measure
 * zero). A lane past its length holds w, Ω and 𝓜; its output reads the held state,
 * z = tanh(E w) + 𝓜ᵀ softmax(Q tanh(E w)), and backward differentiates that read.
 *
 * Per lane and step: forward P·I is hoisted; P log-free selection (P·k compares), k·W for u, W² for
 * Ω w and the Hebbian update, H·W for E, the manifold's 4 M·H + H²; backward about the same plus
 * window GEMMs. Compiled twice (core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "cells/liquid.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "memory/manifold.h"
#include "model/kind.h"

#ifdef MEM_REAL_DOUBLE
#define sg_erf erf
#else
#define sg_erf erff
#endif

typedef struct sgw_index {
    int W_in, b_in, s_hat, R, a_w, W_lw, E, Q, K, V, gamma;
} sgw_index;

static sgw_index sgw_find(const mem_arch *a) {
    sgw_index ix;
    ix.W_in = mem_arch_find_param(a, "W_in");
    ix.b_in = mem_arch_find_param(a, "b_in");
    ix.s_hat = mem_arch_find_param(a, "salience_hat");
    ix.R = mem_arch_find_param(a, "R");
    ix.a_w = mem_arch_find_param(a, "a_w");
    ix.W_lw = mem_arch_find_param(a, "W_lambda_w");
    ix.E = mem_arch_find_param(a, "E");
    ix.Q = mem_arch_find_param(a, "Q");
    ix.K = mem_arch_find_param(a, "K");
    ix.V = mem_arch_find_param(a, "V");
    ix.gamma = mem_arch_find_param(a, "gamma_logit");
    return ix;
}

enum { HY_K = 0, HY_TEMP, HY_OMEGA, HY_SPARSITY };

typedef struct sgw_dims {
    int64_t H, I, P, W, M, k;
} sgw_dims;

static sgw_dims sgw_dims_of(const mem_arch *a, const sgw_index *ix) {
    sgw_dims d = {a->hidden, a->n_inputs, a->params[ix->R].shape[0], a->params[ix->R].shape[1],
                  a->params[ix->Q].shape[0], (int64_t)a->hyper[HY_K]};
    return d;
}

/* state: w (W) | Ω (W x W) | 𝓜 (M x H) */
#define SGW_S(d) ((d).W + (d).W * (d).W + (d).M * (d).H)
/* cache per step: p (P) | π (P) | winners (k, as reals) | Σ top π (1) | u, g, decay, gain, pre_λ (5 W)
 * | b, v, r (3 H) | q, k_m (2 M) */
#define SGW_E(d) (2 * (d).P + (d).k + 1 + 5 * (d).W + 3 * (d).H + 2 * (d).M)
/* backward per step: d pre_p (P) | d pre_λ (W) | d pre_b (H) | du, dk (2 M) | dv (H) */
#define SGW_BW(d) ((d).P + (d).W + 2 * (d).H + 2 * (d).M)

typedef struct sgw_cache {
    mem_real *p, *pi, *win, *sum, *u, *g, *decay, *gain, *pre_l, *b, *v, *r, *q, *km;
} sgw_cache;

static sgw_cache sgw_cache_at(mem_real *e, const sgw_dims *d) {
    sgw_cache c;
    c.p = e;
    c.pi = c.p + d->P;
    c.win = c.pi + d->P;
    c.sum = c.win + d->k;
    c.u = c.sum + 1;
    c.g = c.u + d->W;
    c.decay = c.g + d->W;
    c.gain = c.decay + d->W;
    c.pre_l = c.gain + d->W;
    c.b = c.pre_l + d->W;
    c.v = c.b + d->H;
    c.r = c.v + d->H;
    c.q = c.r + d->H;
    c.km = c.q + d->M;
    return c;
}

static inline mem_real gelu(mem_real x) { return MEM_R(0.5) * x * (1 + sg_erf(x * MEM_R(0.70710678118654752440))); }
static inline mem_real gelu_slope(mem_real x) {
    return MEM_R(0.5) * (1 + sg_erf(x * MEM_R(0.70710678118654752440))) +
           x * MEM_R(0.39894228040143267794) * mr_exp(-MEM_R(0.5) * x * x);
}

static mem_manifold sgw_manifold(const mem_net *net, const sgw_index *ix, const sgw_dims *d) {
    const mem_arch *a = net->arch;
    mem_manifold mf;
    mf.M = d->M;
    mf.H = d->H;
    mf.Q = net->w + a->params[ix->Q].offset;
    mf.K = net->w + a->params[ix->K].offset;
    mf.V = net->w + a->params[ix->V].offset;
    MEM_FN(mem_manifold_set_gamma)(&mf, net->w[a->params[ix->gamma].offset]);
    return mf;
}

/* The k largest of pi (descending; equal values keep the lower index first). */
static void top_k(const mem_real *pi, int64_t P, int64_t k, mem_real *win) {
    int64_t n = 0;
    for (int64_t i = 0; i < P; i++) {
        if (n == k && !(pi[i] > pi[(int64_t)win[k - 1]])) continue;
        int64_t pos = n < k ? n++ : k - 1;
        while (pos > 0 && pi[i] > pi[(int64_t)win[pos - 1]]) {
            win[pos] = win[pos - 1];
            pos--;
        }
        win[pos] = (mem_real)i;
    }
}

/* dst += x src */
static inline void sgw_axpy(int64_t n, mem_real x, const mem_real *restrict src, mem_real *restrict dst) {
    for (int64_t j = 0; j < n; j++) dst[j] += x * src[j];
}

/* b = tanh(E w), with Eᵀ (W x H) from the window block */
static void broadcast(const mem_real *Et, const mem_real *w, int64_t H, int64_t W, mem_real *b) {
    mem_gemv_cols(H, W, Et, w, 0, b);
    for (int64_t i = 0; i < H; i++) b[i] = mr_tanh(b[i]);
}

/* λ = softplus(pre_λ) (restrict: the loop vectorises), then the liquid step
 * w = e^{-λ} w_prev + (1 - e^{-λ}) g (cells/liquid.h, dt = 1; decay receives λ, then e^{-λ}). */
static inline void sgw_step_w(int64_t W, const mem_real *restrict pre_l, const mem_real *restrict g,
                              const mem_real *restrict w_p, mem_real *restrict w_n, mem_real *restrict decay,
                              mem_real *restrict gain) {
    for (int64_t i = 0; i < W; i++) decay[i] = mem_liquid_rate(pre_l[i]);
    mem_liquid_forward(W, MEM_R(1), decay, g, w_p, w_n, gain);
}

/* Ω_t = ω Ω_{t-1} + (1 - ω) w_t w_tᵀ */
static inline void sgw_hebb_step(int64_t W, mem_real omega, const mem_real *restrict Om_p,
                                 const mem_real *restrict w_n, mem_real *restrict Om_n) {
    for (int64_t i = 0; i < W; i++)
        for (int64_t j = 0; j < W; j++) Om_n[i * W + j] = omega * Om_p[i * W + j] + (1 - omega) * w_n[i] * w_n[j];
}

/* z = b + r */
static inline void sgw_step_z(int64_t H, const mem_real *restrict b, const mem_real *restrict r,
                              mem_real *restrict zt) {
    for (int64_t j = 0; j < H; j++) zt[j] = b[j] + r[j];
}

/* d pre_b = (1 - b²) ⊙ g (g = dz + dq, plus dw when the step wrote) */
static inline void sgw_back_b(int64_t H, const mem_real *restrict b, const mem_real *restrict dzt,
                              const mem_real *restrict dq, const mem_real *restrict dw, mem_real *restrict dpb) {
    if (dw)
        for (int64_t i = 0; i < H; i++) dpb[i] = (MEM_R(1) - b[i] * b[i]) * (dzt[i] + dq[i] + dw[i]);
    else
        for (int64_t i = 0; i < H; i++) dpb[i] = (MEM_R(1) - b[i] * b[i]) * (dzt[i] + dq[i]);
}

/* d pre_λ = σ(pre_λ) ⊙ dλ; dg = (1 - g²) ⊙ dg, now d(u + Ω w), which is also u's gradient so far */
static inline void sgw_back_gl(int64_t W, const mem_real *restrict pre_l, const mem_real *restrict g,
                               const mem_real *restrict dlam, mem_real *restrict dpl, mem_real *restrict dg,
                               mem_real *restrict gu) {
    for (int64_t i = 0; i < W; i++) {
        dpl[i] = dlam[i] * mem_liquid_rate_slope(pre_l[i]);
        const mem_real dgi = dg[i] * (MEM_R(1) - g[i] * g[i]);
        dg[i] = dgi;
        gu[i] = dgi;
    }
}

static void sgw_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                        mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const sgw_index ix = sgw_find(a);
    const sgw_dims d = sgw_dims_of(a, &ix);
    const int64_t H = d.H, P = d.P, W = d.W, M = d.M, K = d.k, S = SGW_S(d), E = SGW_E(d);
    const mem_real inv_temp = (mem_real)(1.0 / a->hyper[HY_TEMP]), omega = (mem_real)a->hyper[HY_OMEGA];
    const mem_real *b_in = net->w + a->params[ix.b_in].offset, *s_hat = net->w + a->params[ix.s_hat].offset;
    const mem_real *R = net->w + a->params[ix.R].offset, *a_w = net->w + a->params[ix.a_w].offset;
    const mem_real *W_lw = net->w + a->params[ix.W_lw].offset, *Emat = net->w + a->params[ix.E].offset;
    /* per window: softplus(ŝ) (P), then W_λwᵀ (W x W) and Eᵀ (W x H), so that the per-step products
     * read them by columns and vectorise across their outputs (each summed in the same order) */
    mem_real *sal = proj + T * B * P, *W_lwt = sal + P, *Et = W_lwt + W * W;
    for (int64_t i = 0; i < P; i++) sal[i] = mr_softplus(s_hat[i]);
    mem_transpose(W, W, W_lw, W_lwt);
    mem_transpose(H, W, Emat, Et);
    mem_gemm_real(0, 1, T * B, P, d.I, MEM_R(1), x, d.I, net->w + a->params[ix.W_in].offset, d.I, MEM_R(0), proj, P,
                  net->n_threads);
    const mem_manifold mf = sgw_manifold(net, &ix, &d);

    const int nt = mem_threads_for(net->n_threads, T * B * (8 * M * H + 2 * H * H + 4 * H * W + 20 * P));
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
                const sgw_cache c = sgw_cache_at(extra + (t * B + lane) * E, &d);
                const mem_real *w_p = prev, *Om_p = prev + W, *M_p = prev + W + W * W;
                mem_real *w_n = next, *Om_n = next + W, *M_n = next + W + W * W;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memset(c.p, 0, (size_t)E * sizeof *c.p);
                    broadcast(Et, w_p, H, W, c.b);
                    MEM_FN(mem_manifold_read)(&mf, c.b, M_p, c.q, c.r);
                    sgw_step_z(H, c.b, c.r, zt);
                    continue;
                }
                /* candidates, salience, competition */
                const mem_real *pre = proj + (t * B + lane) * P;
                mem_real mx = 0;
                for (int64_t i = 0; i < P; i++) {
                    c.p[i] = gelu(pre[i] + b_in[i]);
                    c.pi[i] = mr_fabs(c.p[i]) * sal[i] * inv_temp;
                    mx = i == 0 || c.pi[i] > mx ? c.pi[i] : mx;
                }
                mem_real total = 0;
                for (int64_t i = 0; i < P; i++) total += (c.pi[i] = mr_exp(c.pi[i] - mx));
                for (int64_t i = 0; i < P; i++) c.pi[i] /= total;
                top_k(c.pi, P, K, c.win);
                mem_real s = 0;
                for (int64_t n = 0; n < K; n++) s += c.pi[(int64_t)c.win[n]];
                c.sum[0] = s;
                /* the winners' write u */
                memset(c.u, 0, (size_t)W * sizeof *c.u);
                for (int64_t n = 0; n < K; n++) {
                    const int64_t i = (int64_t)c.win[n];
                    sgw_axpy(W, c.pi[i] / s * c.p[i], R + i * W, c.u);
                }
                /* workspace: target g = tanh(u + Ω w), rate λ = softplus(a_w + W_λw u), liquid step,
                 * Hebbian memory (Ω is a per-lane state: its rows are dotted with w as they are) */
                for (int64_t i = 0; i < W; i++) {
                    mem_real acc = c.u[i];
                    for (int64_t j = 0; j < W; j++) acc += Om_p[i * W + j] * w_p[j];
                    c.g[i] = acc;
                }
                memcpy(c.pre_l, a_w, (size_t)W * sizeof *c.pre_l);
                mem_gemv_cols(W, W, W_lwt, c.u, 1, c.pre_l);
                for (int64_t i = 0; i < W; i++) c.g[i] = mr_tanh(c.g[i]);
                sgw_step_w(W, c.pre_l, c.g, w_p, w_n, c.decay, c.gain);
                sgw_hebb_step(W, omega, Om_p, w_n, Om_n);
                /* broadcast and the manifold */
                broadcast(Et, w_n, H, W, c.b);
                MEM_FN(mem_manifold_read)(&mf, c.b, M_p, c.q, c.r);
                MEM_FN(mem_manifold_write)(&mf, c.b, M_p, M_n, c.km, c.v);
                sgw_step_z(H, c.b, c.r, zt);
            }
        }
    }
}

static void sgw_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         const mem_real *states, const mem_real *proj, const mem_real *extra, const mem_real *dz,
                         mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const sgw_index ix = sgw_find(a);
    const sgw_dims d = sgw_dims_of(a, &ix);
    const int64_t H = d.H, P = d.P, W = d.W, M = d.M, K = d.k, S = SGW_S(d), E = SGW_E(d), BW = SGW_BW(d);
    const int64_t TB = T * B, GPB = a->grad_per_block;
    const mem_real inv_temp = (mem_real)(1.0 / a->hyper[HY_TEMP]), omega = (mem_real)a->hyper[HY_OMEGA];
    /* d(sparsity · mean_i |w_i|)/dw_i, times the loss's 1/(lane-steps) */
    const mem_real sparse_g = (mem_real)(a->hyper[HY_SPARSITY] / (double)W * net->aux_scale);
    const mem_real *b_in = net->w + a->params[ix.b_in].offset;
    const mem_real *R = net->w + a->params[ix.R].offset;
    const mem_real *W_lw = net->w + a->params[ix.W_lw].offset, *Emat = net->w + a->params[ix.E].offset;
    const mem_real *sal = proj + TB * P;
    const mem_manifold mf = sgw_manifold(net, &ix, &d);
    mem_real *partials = scratch + TB * BW;

    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, T * B * (12 * M * H + 3 * H * H + 6 * H * W + 30 * P));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        memset(partials + b0 / MEM_LANE_BLOCK * GPB, 0,
               (size_t)(mem_lane_blocks(b_end) - b0 / MEM_LANE_BLOCK) * (size_t)GPB * sizeof *partials);
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                /* the lane's block's sums (the same order of additions in any chunk) and temporaries:
                 * gR (P x W) | g salience·|p| (P) | dγ (1) | temporaries */
                mem_real *gR = partials + lane / MEM_LANE_BLOCK * GPB, *g_sal = gR + P * W, *d_gamma = g_sal + P;
                mem_real *gb = d_gamma + 1, *dq = gb + H, *dw = dq + H, *gu = dw + H, *gw = gu + W, *dg = gw + W;
                mem_real *dlam = dg + W, *gpi = dlam + W, *gp = gpi + K;
                mem_real *gws = d_state + lane * S, *gOm = gws + W, *gM = gws + W + W * W;
                const mem_real *dzt = dz + (t * B + lane) * H;
                const sgw_cache c = sgw_cache_at((mem_real *)extra + (t * B + lane) * E, &d);
                mem_real *dpp = scratch + (t * B + lane) * BW, *dpl = dpp + P, *dpb = dpl + W, *du = dpb + H;
                mem_real *dk = du + M, *dv = dk + M;
                const mem_real *prev = states + (t * B + lane) * S, *next = states + ((t + 1) * B + lane) * S;
                const mem_real *w_p = prev, *Om_p = prev + W, *M_p = prev + W + W * W, *w_n = next;
                memset(dpp, 0, (size_t)BW * sizeof *dpp);
                if (mem_lane_held(len, t, lane)) {
                    MEM_FN(mem_manifold_read_backward)(&mf, M_p, c.q, dzt, gM, du, dq);
                    sgw_back_b(H, c.b, dzt, dq, NULL, dpb);
                    mem_gemv_cols(W, H, Emat, dpb, 1, gws); /* += Eᵀ d pre_b */
                    continue;
                }
                /* z = b + r; the manifold read (of 𝓜_{t-1}) and write, both from b */
                MEM_FN(mem_manifold_step_backward)(&mf, M_p, c.q, c.km, c.v, dzt, gM, du, dk, dv, dq, dw, d_gamma);
                sgw_back_b(H, c.b, dzt, dq, dw, dpb);
                /* w_t: from the future (gws), E, the sparsity loss and Ω_t */
                memcpy(gw, gws, (size_t)W * sizeof *gw);
                mem_gemv_cols(W, H, Emat, dpb, 1, gw);
                for (int64_t j = 0; j < W; j++) {
                    mem_real g = gw[j];
                    g += w_n[j] > 0 ? sparse_g : (w_n[j] < 0 ? -sparse_g : MEM_R(0));
                    mem_real hebb = 0;
                    for (int64_t i = 0; i < W; i++) hebb += (gOm[j * W + i] + gOm[i * W + j]) * w_n[i];
                    gw[j] = g + (1 - omega) * hebb;
                }
                for (int64_t k2 = 0; k2 < W * W; k2++) gOm[k2] *= omega;
                /* liquid step: gws <- d w_{t-1}, dg, dλ */
                mem_liquid_backward(W, MEM_R(1), gw, c.decay, c.gain, c.g, w_p, gws, dg, dlam);
                sgw_back_gl(W, c.pre_l, c.g, dlam, dpl, dg, gu);
                /* Ω_{t-1}, w_{t-1} and u through g = tanh(u + Ω w) and λ = softplus(a_w + W_λw u) */
                for (int64_t i = 0; i < W; i++) sgw_axpy(W, dg[i], w_p, gOm + i * W);
                mem_gemv_cols(W, W, Om_p, dg, 1, gws);
                mem_gemv_cols(W, W, W_lw, dpl, 1, gu);
                /* u = Σ_top π̃_i p_i R_i */
                const mem_real s = c.sum[0];
                mem_real mean_g = 0; /* Σ_top gπ̃_i π̃_i */
                memset(gp, 0, (size_t)P * sizeof *gp);
                for (int64_t n = 0; n < K; n++) {
                    const int64_t i = (int64_t)c.win[n];
                    const mem_real *row = R + i * W;
                    mem_real ru = 0;
                    for (int64_t j = 0; j < W; j++) ru += row[j] * gu[j];
                    const mem_real pt = c.pi[i] / s;
                    sgw_axpy(W, pt * c.p[i], gu, gR + i * W);
                    gp[i] += pt * ru;
                    gpi[n] = c.p[i] * ru; /* d π̃_i */
                    mean_g += gpi[n] * pt;
                }
                /* π̃ = π / s over the winners, then the softmax: gc_i = π_i (gπ_i - Σ gπ_j π_j) / T */
                mem_real dot = 0;
                for (int64_t n = 0; n < K; n++) {
                    const int64_t i = (int64_t)c.win[n];
                    gpi[n] = (gpi[n] - mean_g) / s; /* now d π_i */
                    dot += gpi[n] * c.pi[i];
                }
                const mem_real *pre = proj + (t * B + lane) * P;
                for (int64_t i = 0; i < P; i++) dpp[i] = -dot; /* gπ_i - Σ gπ_j π_j, before the winners' own */
                for (int64_t n = 0; n < K; n++) dpp[(int64_t)c.win[n]] += gpi[n];
                for (int64_t i = 0; i < P; i++) {
                    const mem_real gc = c.pi[i] * dpp[i] * inv_temp;
                    const mem_real ap = mr_fabs(c.p[i]);
                    g_sal[i] += gc * ap;
                    const mem_real sg = c.p[i] > 0 ? MEM_R(1) : (c.p[i] < 0 ? MEM_R(-1) : MEM_R(0));
                    dpp[i] = (gp[i] + sg * sal[i] * gc) * gelu_slope(pre[i] + b_in[i]);
                }
            }
        }
    }

    const mem_real *s_hat = net->w + a->params[ix.s_hat].offset;
    mem_real *g_R = net->g + a->params[ix.R].offset, *g_s = net->g + a->params[ix.s_hat].offset;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *gR = partials + blk * GPB, *g_sal = gR + P * W, *d_gamma = g_sal + P;
        for (int64_t k2 = 0; k2 < P * W; k2++) g_R[k2] += gR[k2];
        for (int64_t i = 0; i < P; i++) g_s[i] += g_sal[i] * mr_sigmoid(s_hat[i]);
        net->g[a->params[ix.gamma].offset] += d_gamma[0] * mf.gamma * mf.one_minus_gamma;
    }
    mem_gemm_real(1, 0, P, d.I, TB, MEM_R(1), scratch, BW, x, d.I, MEM_R(1), net->g + a->params[ix.W_in].offset, d.I,
                  net->n_threads);
    mem_column_sums_add(scratch, TB, P, BW, net->g + a->params[ix.b_in].offset);
    /* W_λw against u (cached), E against w_t (state slots 1..T) */
    mem_gemm_real(1, 0, W, W, TB, MEM_R(1), scratch + P, BW, extra + 2 * P + K + 1, E, MEM_R(1),
                  net->g + a->params[ix.W_lw].offset, W, net->n_threads);
    mem_column_sums_add(scratch + P, TB, W, BW, net->g + a->params[ix.a_w].offset);
    mem_gemm_real(1, 0, H, W, TB, MEM_R(1), scratch + P + W, BW, states + B * S, S, MEM_R(1),
                  net->g + a->params[ix.E].offset, W, net->n_threads);
    const mem_real *b_all = extra + 2 * P + K + 1 + 5 * W;
    MEM_FN(mem_manifold_param_grads)(&mf, TB, scratch + P + W + H, BW, b_all, E, scratch + P + W + H + M, BW,
                                     scratch + P + W + H + 2 * M, BW, b_all, E, net->g + a->params[ix.Q].offset,
                                     net->g + a->params[ix.K].offset, net->g + a->params[ix.V].offset,
                                     net->n_threads);
}

/* Per-call statistics: Σ over valid steps of the competition entropy -Σ π log π, and their count. */
static void sgw_stats(const mem_net *net, int64_t T, int64_t B, const int64_t *len, const mem_real *proj,
                      const mem_real *extra, double *sums) {
    const mem_arch *a = net->arch;
    const sgw_index ix = sgw_find(a);
    const sgw_dims d = sgw_dims_of(a, &ix);
    const int64_t E = SGW_E(d);
    for (int64_t t = 0; t < T; t++)
        for (int64_t lane = 0; lane < B; lane++) {
            if (mem_lane_held(len, t, lane)) continue;
            const mem_real *pi = extra + (t * B + lane) * E + d.P;
            double h = 0;
            for (int64_t i = 0; i < d.P; i++)
                if (pi[i] > 0) h -= (double)pi[i] * log((double)pi[i]);
            sums[0] += h;
            sums[1] += 1.0;
        }
}

/* Σ over valid lane-steps of sparsity · mean_i |w_t,i|. */
static double sgw_aux_loss(const mem_net *net, int64_t T, int64_t B, const int64_t *len, const mem_real *states,
                           const mem_real *extra) {
    const mem_arch *a = net->arch;
    const sgw_index ix = sgw_find(a);
    const sgw_dims d = sgw_dims_of(a, &ix);
    const int64_t S = SGW_S(d);
    double total = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t lane = 0; lane < B; lane++) {
            if (mem_lane_held(len, t, lane)) continue;
            const mem_real *w = states + ((t + 1) * B + lane) * S;
            double s = 0;
            for (int64_t j = 0; j < d.W; j++) s += fabs((double)w[j]);
            total += s;
        }
    return total * a->hyper[HY_SPARSITY] / (double)d.W;
}

const mem_cell_ops MEM_FN(mem_sgw_amn_ops) = {sgw_forward, sgw_backward, sgw_stats, sgw_aux_loss};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)

static const mem_param_def sgw_params[] = {
    {"n_candidates", MEM_PARAM_INT, MEM_TABLE_ARCH, 256, 1, 65536, 0, NULL,
     "candidates P competing for the workspace: p_t = gelu(W_in x_t + b_in)"},
    {"workspace_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 16, 1, 4096, 0, NULL, "workspace width W"},
    {"k", MEM_PARAM_INT, MEM_TABLE_ARCH, 16, 1, 65536, 0, NULL, "winners per step (k <= n_candidates)"},
    {"temperature", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.5, 0, 1e6, MEM_BOUND_MIN_OPEN, NULL,
     "softmax temperature T of the competition pi = softmax(salience / T)"},
    {"workspace_memory", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.98, 0, 1, OPEN_BOTH, NULL,
     "decay omega of the Hebbian workspace memory: Omega_t = omega Omega_{t-1} + (1 - omega) w_t w_t^T"},
    {"sparsity", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.01, 0, 1e6, 0, NULL,
     "weight of the auxiliary loss mean |w_t| (per step, added to the training loss)"},
    {"memory_manifold_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 64, 1, 65536, 0, NULL,
     "rows M of the associative memory manifold (M x hidden_size)"},
    {"memory_decay", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.995, 0, 1, OPEN_BOTH, NULL,
     "initial manifold decay gamma (learned): M_t = gamma M_{t-1} + (1 - gamma) k v^T"},
};

static mem_status sgw_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int64_t P = (int64_t)mem_config_value(cfg, "n_candidates"), W = (int64_t)mem_config_value(cfg, "workspace_size");
    const int64_t K = (int64_t)mem_config_value(cfg, "k"), M = (int64_t)mem_config_value(cfg, "memory_manifold_size");
    if (K > P)
        return mem_fail(MEM_ERR_ARG, "mem_model_create: k=%lld must not exceed n_candidates=%lld", (long long)K,
                        (long long)P);
    const int64_t pi[2] = {P, I}, pw[2] = {P, W}, ww[2] = {W, W}, hw[2] = {H, W}, mh[2] = {M, H}, hh[2] = {H, H};
    const int64_t one = 1;
    const char *ax_pi[2] = {"C", "I"}, *ax_pw[2] = {"C", "W"}, *ax_ww[2] = {"W", "W"}, *ax_hw[2] = {"H", "W"};
    const char *ax_mh[2] = {"M", "H"}, *ax_hh[2] = {"H", "H"}, *ax_p[1] = {"C"}, *ax_w[1] = {"W"}, *ax_1[1] = {"1"};
    const double kv_std = 1.0 / sqrt((double)H);
    MEM_CHECK(mem_arch_add_param(a, "W_in", 2, pi, ax_pi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b_in", 1, &P, ax_p, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "salience_hat", 1, &P, ax_p, MEM_INIT_SOFTPLUS_INV, 1.0, 1.0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "R", 2, pw, ax_pw, MEM_INIT_NORMAL, 1.0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "a_w", 1, &W, ax_w, MEM_INIT_SOFTPLUS_INV, 0.5, 1.0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "W_lambda_w", 2, ww, ax_ww, MEM_INIT_ZERO, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "E", 2, hw, ax_hw, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "Q", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "K", 2, mh, ax_mh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "V", 2, hh, ax_hh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "gamma_logit", 1, &one, ax_1, MEM_INIT_LOGIT_SPREAD,
                                 mem_config_value(cfg, "memory_decay"), 0, 1, 0));
    MEM_CHECK(mem_arch_add_state(a, "workspace", 1, &W, ax_w));
    MEM_CHECK(mem_arch_add_state(a, "workspace_memory", 2, ww, ax_ww));
    MEM_CHECK(mem_arch_add_state(a, "manifold", 2, mh, ax_mh));
    a->hyper[HY_K] = (double)K;
    a->hyper[HY_TEMP] = mem_config_value(cfg, "temperature");
    a->hyper[HY_OMEGA] = mem_config_value(cfg, "workspace_memory");
    a->hyper[HY_SPARSITY] = mem_config_value(cfg, "sparsity");
    const sgw_dims d = {H, I, P, W, M, K};
    a->proj_per_step = P;
    a->per_window = P + W * W + W * H; /* softplus(ŝ), W_λwᵀ, Eᵀ */
    a->extra_per_step = SGW_E(d);
    a->bwd_per_step = SGW_BW(d);
    a->grad_per_block = P * W + P + 1 + 3 * H + 4 * W + K + P;
    a->n_stats = 2;
    return MEM_OK;
}

static const char *const sgw_diag_names[] = {"workspace_sparsity", "competition_entropy", "bottleneck_rate"};

/* workspace_sparsity: fraction of the stored workspace with |w_i| > 0.1; competition_entropy: mean
 * -Σ π log π over the last call (without one: at zero input, from b_in and the saliences). */
static mem_status sgw_diag(const mem_arch *a, const float *w, const float *memory, const double *stats, int index,
                           double *values, int64_t capacity, int64_t *n_values) {
    const mem_tensor_spec *R = &a->params[mem_arch_find_param(a, "R")];
    const int64_t P = R->shape[0], W = R->shape[1];
    double v = 0;
    if (index == 0) {
        for (int64_t j = 0; j < W; j++) v += fabs((double)memory[j]) > 0.1;
        v /= (double)W;
    } else if (index == 1) {
        if (stats && stats[1] > 0) {
            v = stats[0] / stats[1];
        } else {
            const float *b_in = w + a->params[mem_arch_find_param(a, "b_in")].offset;
            const float *s_hat = w + a->params[mem_arch_find_param(a, "salience_hat")].offset;
            double mx = -1e300, total = 0, weighted = 0;
            for (int64_t i = 0; i < P; i++) {
                const double b = b_in[i], p = 0.5 * b * (1 + erf(b / sqrt(2.0)));
                const double z = s_hat[i], sp = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
                const double c = fabs(p) * sp / a->hyper[HY_TEMP];
                mx = c > mx ? c : mx;
            }
            for (int64_t i = 0; i < P; i++) {
                const double b = b_in[i], p = 0.5 * b * (1 + erf(b / sqrt(2.0)));
                const double z = s_hat[i], sp = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
                const double c = fabs(p) * sp / a->hyper[HY_TEMP] - mx, e = exp(c);
                total += e;
                weighted += e * c;
            }
            v = log(total) - weighted / total; /* -Σ π log π with π = e^c / total */
        }
    } else {
        v = a->hyper[HY_K] / (double)P;
    }
    *n_values = 1;
    if (capacity >= 1) values[0] = v;
    return MEM_OK;
}

const mem_kind mem_kind_sgw_amn = {
    .name = "sgw_amn",
    .doc = "sparse global workspace: salience competition with hard top-k winners, an integrating workspace with "
           "a Hebbian memory, broadcast and an associative memory manifold",
    .params = sgw_params,
    .n_params = (int)(sizeof sgw_params / sizeof sgw_params[0]),
    .default_learning_rate = 0.1, /* bench/learning_rate_sweep.md */
    .default_skip = 1,
    .layout = sgw_layout,
    .diag_names = sgw_diag_names,
    .n_diags = 3,
    .diag = sgw_diag,
    .ops_f32 = &mem_sgw_amn_ops_f32,
};
#endif
