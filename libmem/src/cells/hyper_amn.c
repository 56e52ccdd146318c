/* Hyper-AMN — multi-head manifolds with head gating (spec/cells.md). N = n_heads AMN cores share
 * the input projection W_in, b_in; each head h has its own liquid rate (a, W_λ), feedback U, LRU
 * (ν), mix ρ and manifold (Q, K, V, γ_h). Per step, for every head (as amn.c):
 *
 *   f^h = tanh(W_in x + U^h s^h_{t-1} + b_in);  λ^h = softplus(a^h + W_λ^h x)
 *   s^h = e^{-dt λ^h} s^h_{t-1} + (1 - e^{-dt λ^h}) f^h;  ℓ^h = Λ^h ℓ^h_{t-1} + sqrt(1 - Λ^h²) s^h
 *   r^h: the manifold of head h read with ℓ̃^h = ℓ^h sqrt((1 - Λ^h)/(1 + Λ^h)), written with s^h
 *   z^h = (1 - ρ^h) ℓ^h + ρ^h r^h
 * then across heads:
 *   ẑ^h = Σ_h' X_hh' z^h'                            (learned mixing, init identity)
 *   g = softmax(G_x x_t + G_z z̄_{t-1} + b_G) over heads
 *   z̄_t = Σ_h g_h ẑ^h;  z_t = z̄_t                    (state z̄)
 *
 * Parameters carry a leading "heads" axis (not a permutation symmetry: each head has its own
 * initial decay); H and M stay permutable, and a permutation applies to every head alike since X
 * mixes unit j of each head with unit j of the others. The initial decays come from the array
 * parameter `memory_decays` (one per head).
 *
 * A lane past its length holds every state; its output is the held z̄ (a function of the state).
 * Compiled twice (float and double, see core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/amn_window.h"
#include "cells/cell_util.h"
#include "cells/liquid.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "memory/manifold.h"
#include "model/kind.h"

#define HYPER_MAX_HEADS 16

typedef struct hyper_index {
    int W_in, U, b_in, a, W_lambda, nu, Q, K, V, gamma, rho, X, G_x, G_z, b_G;
} hyper_index;

static hyper_index hyper_find(const mem_arch *a) {
    hyper_index ix;
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
    ix.X = mem_arch_find_param(a, "X");
    ix.G_x = mem_arch_find_param(a, "G_x");
    ix.G_z = mem_arch_find_param(a, "G_z");
    ix.b_G = mem_arch_find_param(a, "b_G");
    return ix;
}

/* Sizes (N heads, H units, M rows):
 *   state S per lane: s (N·H) | ℓ (N·H) | 𝓜 (N·M·H) | z̄ (H)
 *   proj P per step: W_in x (H) | W_λ x (N·H) | G_x x (N); per window: 8 H values per head
 *   cache E per step: per head EH = f, e, om, r, v, ℓ̃ (6 H) | q, k (2 M); then z^h (N·H), ẑ^h (N·H), g (N)
 *   scratch BW per step: per head BH = d pre_f, d pre_λ, dv_pre (3 H) | du, dk_pre (2 M); then d gate (N) */
typedef struct hyper_dims {
    int64_t N, H, M, I, S, P, E, EH, BW, BH, z_off;
} hyper_dims;

static hyper_dims hyper_dims_of(const mem_arch *a, const hyper_index *ix) {
    hyper_dims d;
    d.N = a->params[ix->Q].shape[0];
    d.M = a->params[ix->Q].shape[1];
    d.H = a->hidden;
    d.I = a->n_inputs;
    d.z_off = 2 * d.N * d.H + d.N * d.M * d.H;
    d.S = d.z_off + d.H;
    d.P = d.H + d.N * d.H + d.N;
    d.EH = 6 * d.H + 2 * d.M;
    d.E = d.N * d.EH + 2 * d.N * d.H + d.N;
    d.BH = 3 * d.H + 2 * d.M;
    d.BW = d.N * d.BH + d.N;
    return d;
}

/* Per-window values of head h (after the window's projections). */
/* Head h's window values (amn_window.h), one block of MEM_AMN_WINDOW_ARRAYS · H per head. */
static mem_amn_window hyper_window_at(mem_real *base, int64_t H, int64_t h) {
    return mem_amn_window_at(base + h * MEM_AMN_WINDOW_ARRAYS * H, H);
}

static void hyper_manifolds(const mem_net *net, const hyper_index *ix, const hyper_dims *d, mem_manifold *mf) {
    const mem_arch *a = net->arch;
    for (int64_t h = 0; h < d->N; h++) {
        mf[h].M = d->M;
        mf[h].H = d->H;
        mf[h].Q = net->w + a->params[ix->Q].offset + h * d->M * d->H;
        mf[h].K = net->w + a->params[ix->K].offset + h * d->M * d->H;
        mf[h].V = net->w + a->params[ix->V].offset + h * d->H * d->H;
        MEM_FN(mem_manifold_set_gamma)(&mf[h], net->w[a->params[ix->gamma].offset + h]);
    }
}

/* Σ_j a_j b_j, j increasing (a plain running sum: its order is part of the results' bits). */
static inline mem_real hyper_dot(int64_t n, const mem_real *restrict a, const mem_real *restrict b) {
    mem_real acc = 0;
    for (int64_t j = 0; j < n; j++) acc += a[j] * b[j];
    return acc;
}

/* dst += x src */
static inline void hyper_axpy(int64_t n, mem_real x, const mem_real *restrict src, mem_real *restrict dst) {
    for (int64_t j = 0; j < n; j++) dst[j] += x * src[j];
}

/* One head's f = tanh(W_in x + [U s_{t-1}] + b_in), with U s_{t-1} on entry in f when rec. */
static MEM_SIMD_CLONES void hyper_step_f(int64_t H, const mem_real *restrict drive, const mem_real *restrict b_in,
                                         int rec, mem_real *restrict f) {
    if (rec)
        for (int64_t i = 0; i < H; i++) f[i] = mr_tanh(drive[i] + b_in[i] + f[i]);
    else
        for (int64_t i = 0; i < H; i++) f[i] = mr_tanh(drive[i] + b_in[i]);
}

/* λ = softplus(a + W_λ x) (restrict: the loop vectorises), then the liquid step
 * s = e^{-dt λ} s_prev + (1 - e^{-dt λ}) f (cells/liquid.h; e receives λ, then e^{-dt λ}). */
static MEM_SIMD_CLONES void hyper_step_s(int64_t H, mem_real dt, const mem_real *restrict rate_a,
                                         const mem_real *restrict p_lam, const mem_real *restrict f,
                                         const mem_real *restrict s_p, mem_real *restrict s, mem_real *restrict e,
                                         mem_real *restrict om) {
    for (int64_t i = 0; i < H; i++) e[i] = mem_liquid_rate(rate_a[i] + p_lam[i]);
    mem_liquid_forward(H, dt, e, f, s_p, s, om);
}

static void hyper_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                          mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const hyper_index ix = hyper_find(a);
    const hyper_dims d = hyper_dims_of(a, &ix);
    const int64_t N = d.N, H = d.H, M = d.M, I = d.I, S = d.S, P = d.P, E = d.E, NH = N * H;
    const mem_real dt = (mem_real)a->hyper[0];
    const mem_real *U = ix.U >= 0 ? net->w + a->params[ix.U].offset : NULL;
    const mem_real *b_in = net->w + a->params[ix.b_in].offset;
    const mem_real *rate_a = net->w + a->params[ix.a].offset;
    const mem_real *nu = net->w + a->params[ix.nu].offset;
    const mem_real *rho_logit = net->w + a->params[ix.rho].offset;
    const mem_real *X = net->w + a->params[ix.X].offset;
    const mem_real *G_z = net->w + a->params[ix.G_z].offset;
    const mem_real *b_G = net->w + a->params[ix.b_G].offset;
    mem_real *win = proj + T * B * P;
    for (int64_t h = 0; h < N; h++) {
        const mem_amn_window wv = hyper_window_at(win, H, h);
        mem_amn_window_fill(&wv, H, nu + h * H, rho_logit + h * H);
    }
    /* Every head's U^hᵀ once per window (after the window arrays): the per-step products then read
     * U^h by columns and vectorise across their outputs, each summed in the same order as before. */
    mem_real *Ut = U ? win + MEM_AMN_WINDOW_ARRAYS * NH : NULL;
    if (U)
        for (int64_t h = 0; h < N; h++) mem_transpose(H, H, U + h * H * H, Ut + h * H * H);
    /* The input projections of the whole window: W_in, every head's W_λ (one (N·H) x I matrix)
     * and the gate's G_x. */
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, net->w + a->params[ix.W_in].offset, I, MEM_R(0), proj, P,
                  net->n_threads);
    mem_gemm_real(0, 1, T * B, NH, I, MEM_R(1), x, I, net->w + a->params[ix.W_lambda].offset, I, MEM_R(0), proj + H,
                  P, net->n_threads);
    mem_gemm_real(0, 1, T * B, N, I, MEM_R(1), x, I, net->w + a->params[ix.G_x].offset, I, MEM_R(0), proj + H + NH,
                  P, net->n_threads);
    mem_manifold mf[HYPER_MAX_HEADS];
    hyper_manifolds(net, &ix, &d, mf);

    const int nt = mem_threads_for(net->n_threads, T * B * N * (8 * M * H + 4 * H * H + 34 * H));
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
                mem_real *cache = extra + (t * B + lane) * E;
                mem_real *zh = cache + N * d.EH, *zhat = zh + NH, *gate = zhat + NH;
                const mem_real *zbar_p = prev + d.z_off;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memset(cache, 0, (size_t)E * sizeof *cache);
                    memcpy(zt, zbar_p, (size_t)H * sizeof *zt);
                    continue;
                }
                const mem_real *drive = proj + (t * B + lane) * P, *p_lam = drive + H, *p_gate = p_lam + NH;
                for (int64_t h = 0; h < N; h++) {
                    const mem_amn_window wv = hyper_window_at(win, H, h);
                    const mem_real *s_p = prev + h * H, *l_p = prev + NH + h * H, *M_p = prev + 2 * NH + h * M * H;
                    mem_real *s = next + h * H, *l = next + NH + h * H, *M_n = next + 2 * NH + h * M * H;
                    mem_real *f = cache + h * d.EH, *e = f + H, *om = e + H, *r = om + H, *v = r + H;
                    mem_real *lt = v + H, *q = lt + H, *k = q + M;
                    if (U) mem_gemv_cols(H, H, Ut + h * H * H, s_p, 0, f); /* U^h s_{t-1} */
                    hyper_step_f(H, drive, b_in, U != NULL, f);
                    hyper_step_s(H, dt, rate_a + h * H, p_lam + h * H, f, s_p, s, e, om);
                    mem_amn_lru_step(H, wv.lam, wv.c, wv.sc, l_p, s, l, lt);
                    MEM_FN(mem_manifold_read)(&mf[h], lt, M_p, q, r);
                    MEM_FN(mem_manifold_write)(&mf[h], s, M_p, M_n, k, v);
                    mem_amn_output(H, wv.omr, wv.rho, l, r, zh + h * H);
                }
                /* cross-head mixing, then the gate over heads from x_t and the previous z̄ */
                for (int64_t h = 0; h < N; h++) {
                    mem_real *dst = zhat + h * H;
                    for (int64_t j = 0; j < H; j++) dst[j] = 0;
                    for (int64_t g = 0; g < N; g++) hyper_axpy(H, X[h * N + g], zh + g * H, dst);
                    gate[h] = p_gate[h] + b_G[h] + hyper_dot(H, G_z + h * H, zbar_p);
                }
                mem_real mx = gate[0], sum = 0;
                for (int64_t h = 1; h < N; h++) mx = gate[h] > mx ? gate[h] : mx;
                for (int64_t h = 0; h < N; h++) {
                    gate[h] = mr_exp(gate[h] - mx);
                    sum += gate[h];
                }
                for (int64_t h = 0; h < N; h++) gate[h] /= sum;
                mem_real *zbar = next + d.z_off;
                for (int64_t j = 0; j < H; j++) zbar[j] = 0;
                for (int64_t h = 0; h < N; h++) hyper_axpy(H, gate[h], zhat + h * H, zbar);
                memcpy(zt, zbar, (size_t)H * sizeof *zt);
            }
        }
    }
}

static void hyper_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                           const mem_real *states, const mem_real *proj, const mem_real *extra, const mem_real *dz,
                           mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const hyper_index ix = hyper_find(a);
    const hyper_dims d = hyper_dims_of(a, &ix);
    const int64_t N = d.N, H = d.H, M = d.M, I = d.I, S = d.S, P = d.P, E = d.E, BW = d.BW, BH = d.BH;
    const int64_t NH = N * H, TB = T * B, GPB = a->grad_per_block;
    const mem_real dt = (mem_real)a->hyper[0];
    const mem_real *U = ix.U >= 0 ? net->w + a->params[ix.U].offset : NULL;
    const mem_real *rate_a = net->w + a->params[ix.a].offset;
    const mem_real *X = net->w + a->params[ix.X].offset;
    const mem_real *G_z = net->w + a->params[ix.G_z].offset;
    mem_real *win = (mem_real *)proj + TB * P;
    mem_manifold mf[HYPER_MAX_HEADS];
    hyper_manifolds(net, &ix, &d, mf);
    mem_real *partials = scratch + TB * BW;

    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, T * B * N * (12 * M * H + 6 * H * H + 44 * H));
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
                 * dρ (N·H) | dν (N·H) | dγ (N) | dX (N·N) | temporaries */
                mem_real *d_rho = partials + lane / MEM_LANE_BLOCK * GPB, *d_nu = d_rho + NH, *d_gamma = d_nu + NH;
                mem_real *d_X = d_gamma + N, *dr = d_X + N * N, *g_lt = dr + H, *g_ws = g_lt + H, *g_s = g_ws + H;
                mem_real *g_zhat = g_s + H, *g_zh = g_zhat + NH, *d_a = g_zh + NH;
                mem_real *gst = d_state + lane * S, *gz = gst + d.z_off;
                const mem_real *dzt = dz + (t * B + lane) * H;
                mem_real *row_scratch = scratch + (t * B + lane) * BW, *dg = row_scratch + N * BH;
                if (mem_lane_held(len, t, lane)) {
                    /* z_t is the held z̄, and the state passes through unchanged. */
                    for (int64_t j = 0; j < H; j++) gz[j] += dzt[j];
                    memset(row_scratch, 0, (size_t)BW * sizeof *row_scratch);
                    continue;
                }
                const mem_real *cache = extra + (t * B + lane) * E;
                const mem_real *zh = cache + N * d.EH, *zhat = zh + NH, *gate = zhat + NH;
                const mem_real *prev = states + (t * B + lane) * S, *next = states + ((t + 1) * B + lane) * S;
                /* z̄_t = Σ g_h ẑ^h: gradients of ẑ and of the gate's softmax */
                for (int64_t j = 0; j < H; j++) gz[j] += dzt[j];
                mem_real dot = 0;
                for (int64_t h = 0; h < N; h++) {
                    const mem_real acc = hyper_dot(H, gz, zhat + h * H);
                    mem_real *gzh = g_zhat + h * H;
                    for (int64_t j = 0; j < H; j++) gzh[j] = gate[h] * gz[j];
                    d_a[h] = acc;
                    dot += gate[h] * acc;
                }
                for (int64_t h = 0; h < N; h++) dg[h] = gate[h] * (d_a[h] - dot);
                /* the gate read z̄_{t-1} through G_z: that is the whole gradient wrt z̄_{t-1} */
                mem_gemv_cols(H, N, G_z, dg, 0, gz);
                /* ẑ^h = Σ_g X_hg z^g */
                memset(g_zh, 0, (size_t)NH * sizeof *g_zh);
                for (int64_t h = 0; h < N; h++)
                    for (int64_t g = 0; g < N; g++) {
                        const mem_real *gh = g_zhat + h * H;
                        d_X[h * N + g] += hyper_dot(H, gh, zh + g * H);
                        hyper_axpy(H, X[h * N + g], gh, g_zh + g * H);
                    }
                /* each head's AMN core, as amn.c's backward with dz = g_zh[h] */
                for (int64_t h = 0; h < N; h++) {
                    const mem_amn_window wv = hyper_window_at(win, H, h);
                    mem_real *gs = gst + h * H, *gl = gst + NH + h * H, *gM = gst + 2 * NH + h * M * H;
                    const mem_real *dzh = g_zh + h * H;
                    const mem_real *f = cache + h * d.EH, *e = f + H, *om = e + H, *r = om + H, *v = r + H;
                    const mem_real *q = v + 2 * H, *k = q + M;
                    mem_real *dpf = row_scratch + h * BH, *dpl = dpf + H, *dv = dpl + H, *du = dv + H, *dk = du + M;
                    const mem_real *s_p = prev + h * H, *l_p = prev + NH + h * H, *M_p = prev + 2 * NH + h * M * H;
                    const mem_real *s = next + h * H, *l = next + NH + h * H;
                    mem_real *drho = d_rho + h * H;
                    for (int64_t j = 0; j < H; j++) {
                        dr[j] = wv.rho[j] * dzh[j];
                        drho[j] += dzh[j] * (r[j] - l[j]);
                    }
                    MEM_FN(mem_manifold_step_backward)(&mf[h], M_p, q, k, v, dr, gM, du, dk, dv, g_lt, g_ws,
                                                       &d_gamma[h]);
                    mem_amn_lru_backward(H, &wv, dzh, g_lt, g_ws, l_p, s, l, gs, gl, g_s, d_nu + h * H);
                    mem_liquid_backward(H, dt, g_s, e, om, f, s_p, gs, dpf, dpl);
                    mem_amn_pre_backward(H, f, rate_a + h * H, proj + (t * B + lane) * P + H + h * H, dpf, dpl);
                    if (U) mem_gemv_cols(H, H, U + h * H * H, dpf, 1, gs); /* += U^hᵀ d pre_f */
                }
            }
        }
    }

    /* Per-unit, per-head and mixing gradients, block partials added in block order. */
    mem_real *g_rho = net->g + a->params[ix.rho].offset, *g_nu = net->g + a->params[ix.nu].offset;
    mem_real *g_gamma = net->g + a->params[ix.gamma].offset, *g_X = net->g + a->params[ix.X].offset;
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *d_rho = partials + blk * GPB, *d_nu = d_rho + NH, *d_gamma = d_nu + NH, *d_X = d_gamma + N;
        for (int64_t h = 0; h < N; h++) {
            const mem_amn_window wv = hyper_window_at(win, H, h);
            for (int64_t j = 0; j < H; j++) {
                g_rho[h * H + j] += d_rho[h * H + j] * wv.rho[j] * wv.omr[j];
                g_nu[h * H + j] += d_nu[h * H + j];
            }
            g_gamma[h] += d_gamma[h] * mf[h].gamma * mf[h].one_minus_gamma;
        }
        for (int64_t i = 0; i < N * N; i++) g_X[i] += d_X[i];
    }
    /* Matrix gradients over the window (held rows of the scratch are zero). */
    for (int64_t h = 0; h < N; h++) {
        const mem_real *dpf_all = scratch + h * BH, *dpl_all = dpf_all + H;
        mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpf_all, BW, x, I, MEM_R(1), net->g + a->params[ix.W_in].offset, I,
                      net->n_threads);
        mem_gemm_real(1, 0, H, I, TB, MEM_R(1), dpl_all, BW, x, I, MEM_R(1),
                      net->g + a->params[ix.W_lambda].offset + h * H * I, I, net->n_threads);
        if (U)
            mem_gemm_real(1, 0, H, H, TB, MEM_R(1), dpf_all, BW, states + h * H, S, MEM_R(1),
                          net->g + a->params[ix.U].offset + h * H * H, H, net->n_threads);
        mem_column_sums_add(dpf_all, TB, H, BW, net->g + a->params[ix.b_in].offset);
        mem_column_sums_add(dpl_all, TB, H, BW, net->g + a->params[ix.a].offset + h * H);
        /* Q against ℓ̃^h (cached), K and V against s^h_t (slots 1..T of the states). */
        MEM_FN(mem_manifold_param_grads)(&mf[h], TB, dpf_all + 3 * H, BW, extra + h * d.EH + 5 * H, E,
                                         dpf_all + 3 * H + M, BW, dpf_all + 2 * H, BW, states + B * S + h * H, S,
                                         net->g + a->params[ix.Q].offset + h * M * H,
                                         net->g + a->params[ix.K].offset + h * M * H,
                                         net->g + a->params[ix.V].offset + h * H * H, net->n_threads);
    }
    /* the gate: G_x against x_t, G_z against z̄_{t-1} (slots 0..T-1) */
    const mem_real *dg_all = scratch + N * BH;
    mem_gemm_real(1, 0, N, I, TB, MEM_R(1), dg_all, BW, x, I, MEM_R(1), net->g + a->params[ix.G_x].offset, I,
                  net->n_threads);
    mem_gemm_real(1, 0, N, H, TB, MEM_R(1), dg_all, BW, states + d.z_off, S, MEM_R(1),
                  net->g + a->params[ix.G_z].offset, H, net->n_threads);
    mem_column_sums_add(dg_all, TB, N, BW, net->g + a->params[ix.b_G].offset);
}

/* Per-call statistics: the gate of every head summed over every valid step and lane, then the
 * count of those steps (sequentially: deterministic). */
static void hyper_stats(const mem_net *net, int64_t T, int64_t B, const int64_t *len, const mem_real *proj,
                        const mem_real *extra, double *sums) {
    (void)proj;
    const mem_arch *a = net->arch;
    const hyper_index ix = hyper_find(a);
    const hyper_dims d = hyper_dims_of(a, &ix);
    for (int64_t t = 0; t < T; t++)
        for (int64_t lane = 0; lane < B; lane++) {
            if (mem_lane_held(len, t, lane)) continue;
            const mem_real *gate = extra + (t * B + lane) * d.E + d.N * d.EH + 2 * d.N * d.H;
            for (int64_t h = 0; h < d.N; h++) sums[h] += (double)gate[h];
            sums[d.N] += 1.0;
        }
}

const mem_cell_ops MEM_FN(mem_hyper_amn_ops) = {hyper_forward, hyper_backward, hyper_stats};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics (float build only) ---- */

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)

static const mem_param_def hyper_params[] = {
    {"n_heads", MEM_PARAM_INT, MEM_TABLE_ARCH, 3, 1, HYPER_MAX_HEADS, 0, NULL,
     "number of AMN heads (3: 'spatial', 'emotional', 'logical'), each with its own liquid rate, feedback, LRU and "
     "manifold"},
    {"memory_manifold_size", MEM_PARAM_INT, MEM_TABLE_ARCH, 64, 1, 65536, 0, NULL,
     "rows M of each head's associative memory manifold (M x hidden_size)"},
    {"dt", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 1.0, 0, 1e6, MEM_BOUND_MIN_OPEN, NULL,
     "time step of the liquid layers (exact integration, stable for every dt)"},
    {"memory_decays", MEM_PARAM_FLOATS, MEM_TABLE_ARCH, 0, 0, 1, OPEN_BOTH, NULL,
     "initial manifold decay of each head (learned), one value per head; default 0.990, 0.995, 0.999 for 3 heads, "
     "otherwise 1 - decay spread geometrically from 0.01 to 0.001 (0.99 for one head)"},
    {"lru_min", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.5, 0, 1, OPEN_BOTH, NULL,
     "smallest initial LRU decay Lambda of every head"},
    {"lru_max", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.999, 0, 1, OPEN_BOTH, NULL,
     "largest initial LRU decay Lambda: its time scale 1/(1 - Lambda) should stay below the history seen in "
     "training"},
    {"feedback", MEM_PARAM_BOOL, MEM_TABLE_ARCH, 1, 0, 1, 0, NULL,
     "each head's f_t reads U s_{t-1}; 0 drops U (input-only coefficients)"},
};

/* The initial decays: the configured array, or the default for n heads. */
static mem_status hyper_decays(const mem_config *cfg, int64_t n, double *out) {
    int64_t count;
    const double *given = mem_config_array(cfg, "memory_decays", &count);
    if (count > 0) {
        if (count != n)
            return mem_fail(MEM_ERR_ARG, "mem_model_create: memory_decays has %lld values; n_heads=%lld needs one per head",
                            (long long)count, (long long)n);
        for (int64_t h = 0; h < n; h++) out[h] = given[h];
    } else if (n == 3) {
        out[0] = 0.990;
        out[1] = 0.995;
        out[2] = 0.999;
    } else {
        for (int64_t h = 0; h < n; h++) out[h] = 1.0 - 0.01 * pow(0.1, n > 1 ? (double)h / (double)(n - 1) : 0.0);
    }
    return MEM_OK;
}

static mem_status hyper_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const int64_t N = (int64_t)mem_config_value(cfg, "n_heads");
    const int64_t M = (int64_t)mem_config_value(cfg, "memory_manifold_size");
    const double lru_min = mem_config_value(cfg, "lru_min"), lru_max = mem_config_value(cfg, "lru_max");
    if (!(lru_min < lru_max))
        return mem_fail(MEM_ERR_ARG,
                        "mem_model_create: lru_min=%g must be less than lru_max=%g (the initial LRU decays are "
                        "spread between them)",
                        lru_min, lru_max);
    double decays[HYPER_MAX_HEADS];
    MEM_CHECK(hyper_decays(cfg, N, decays));
    int decay_start;
    MEM_CHECK(mem_arch_add_init_values(a, decays, (int)N, &decay_start));
    const int64_t hi[2] = {H, I}, nhi[3] = {N, H, I}, nhh[3] = {N, H, H}, nmh[3] = {N, M, H}, nh[2] = {N, H};
    const int64_t nn[2] = {N, N}, ni[2] = {N, I};
    const char *ax_hi[2] = {"H", "I"}, *ax_h[1] = {"H"}, *ax_nhi[3] = {"heads", "H", "I"};
    const char *ax_nhh[3] = {"heads", "H", "H"}, *ax_nmh[3] = {"heads", "M", "H"}, *ax_nh[2] = {"heads", "H"};
    const char *ax_n[1] = {"heads"}, *ax_nn[2] = {"heads", "heads"}, *ax_ni[2] = {"heads", "I"};
    const double kv_std = 1.0 / sqrt((double)H);
    MEM_CHECK(mem_arch_add_param(a, "W_in", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    if (mem_config_value(cfg, "feedback") != 0)
        MEM_CHECK(mem_arch_add_param(a, "U", 3, nhh, ax_nhh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b_in", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "a", 2, nh, ax_nh, MEM_INIT_SOFTPLUS_INV, 0.5, 1.0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "W_lambda", 3, nhi, ax_nhi, MEM_INIT_ZERO, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "nu", 2, nh, ax_nh, MEM_INIT_LRU_NU, lru_min, lru_max, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "Q", 3, nmh, ax_nmh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "K", 3, nmh, ax_nmh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "V", 3, nhh, ax_nhh, MEM_INIT_NORMAL, kv_std, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "gamma_logit", 1, &N, ax_n, MEM_INIT_LOGIT_TABLE, decay_start, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "rho_logit", 2, nh, ax_nh, MEM_INIT_LOGIT_SPREAD, 0.3, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "X", 2, nn, ax_nn, MEM_INIT_IDENTITY, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "G_x", 2, ni, ax_ni, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "G_z", 2, nh, ax_nh, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b_G", 1, &N, ax_n, MEM_INIT_ZERO, 0, 0, 1, 0));
    MEM_CHECK(mem_arch_add_state(a, "s", 2, nh, ax_nh));
    MEM_CHECK(mem_arch_add_state(a, "lru", 2, nh, ax_nh));
    MEM_CHECK(mem_arch_add_state(a, "manifold", 3, nmh, ax_nmh));
    MEM_CHECK(mem_arch_add_state(a, "zbar", 1, &H, ax_h));
    a->hyper[0] = mem_config_value(cfg, "dt");
    a->proj_per_step = H + N * H + N;
    /* every head's window arrays, then every U^hᵀ */
    a->per_window = MEM_AMN_WINDOW_ARRAYS * N * H + (mem_config_value(cfg, "feedback") != 0 ? N * H * H : 0);
    a->extra_per_step = N * (6 * H + 2 * M) + 2 * N * H + N;
    a->bwd_per_step = N * (3 * H + 2 * M) + N;
    a->grad_per_block = 4 * N * H + 2 * N + N * N + 4 * H;
    a->n_stats = (int)N + 1;
    return MEM_OK;
}

static const char *const hyper_diag_names[] = {"head_activations", "head_manifold_energy", "cross_head_flow"};

/* head_activations: the mean gate of each head over the last call (without one: the gate at zero
 * input and zero state, softmax(b_G)); head_manifold_energy: mean |𝓜_h| of the stored memory, per
 * head; cross_head_flow: mean |X_hg| over h != g (0 for one head). */
static mem_status hyper_diag(const mem_arch *a, const float *w, const float *memory, const double *stats, int index,
                             double *values, int64_t capacity, int64_t *n_values) {
    const int64_t H = a->hidden, N = a->states[0].shape[0], M = a->states[2].shape[1];
    double out[HYPER_MAX_HEADS];
    int64_t n = N;
    if (index == 0) {
        if (stats && stats[N] > 0) {
            for (int64_t h = 0; h < N; h++) out[h] = stats[h] / stats[N];
        } else {
            const float *b_G = w + a->params[mem_arch_find_param(a, "b_G")].offset;
            double mx = b_G[0], sum = 0;
            for (int64_t h = 1; h < N; h++) mx = b_G[h] > mx ? b_G[h] : mx;
            for (int64_t h = 0; h < N; h++) sum += out[h] = exp(b_G[h] - mx);
            for (int64_t h = 0; h < N; h++) out[h] /= sum;
        }
    } else if (index == 1) {
        for (int64_t h = 0; h < N; h++) out[h] = mem_manifold_energy(memory + 2 * N * H + h * M * H, M * H);
    } else {
        const float *X = w + a->params[mem_arch_find_param(a, "X")].offset;
        double s = 0;
        for (int64_t h = 0; h < N; h++)
            for (int64_t g = 0; g < N; g++)
                if (h != g) s += fabs((double)X[h * N + g]);
        out[0] = N > 1 ? s / (double)(N * (N - 1)) : 0.0;
        n = 1;
    }
    *n_values = n;
    for (int64_t i = 0; i < n && i < capacity; i++) values[i] = out[i];
    return MEM_OK;
}

const mem_kind mem_kind_hyper_amn = {
    .name = "hyper_amn",
    .doc = "multi-head AMN: AMN cores with their own manifolds and time scales, learned cross-head mixing and a "
           "softmax gate over heads",
    .params = hyper_params,
    .n_params = (int)(sizeof hyper_params / sizeof hyper_params[0]),
    .default_learning_rate = 0.01, /* provisional until the sweep (bench/learning_rate_sweep.md) */
    .default_skip = 1,
    .layout = hyper_layout,
    .diag_names = hyper_diag_names,
    .n_diags = 3,
    .diag = hyper_diag,
    .ops_f32 = &mem_hyper_amn_ops_f32,
};
#endif
