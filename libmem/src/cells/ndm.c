/* NDM — neural differential manifold (spec/cells.md): a continuous-time recurrent layer whose
 * recurrent weights have a slow part, trained by BPTT, and a fast plastic part F that evolves by
 * an ODE during every sequence (differentiable plasticity, Miconi et al. 2018).
 *
 *   dh/dt = -h + tanh(W_in x_t + (W_rec + P ⊙ F_{t-1}) h + b)   over dt, `substeps` steps of
 *           Euler or RK4 (src/ode), F held at its step-start value
 *   F_t = e^{-λ dt} F_{t-1} + φ η h_t π_{t-1}ᵀ,   φ = (1 - e^{-λ dt}) / λ   (exact for a held trace)
 *   π_t = ρ π_{t-1} + (1 - ρ) h_t,   z_t = h_t
 *   η = softplus(η̂), λ = λ_min + softplus(λ̂) (scalars), P per neuron (row i scales F's row i) or
 *   per weight, ρ = trace_decay.
 *
 * Numerics: φ is -expm1(-λdt)/λ, and its series dt (1 - x/2 + x²/6) for x = λdt < 1e-4; its
 * derivative (dt e^{-x} - φ)/λ cancels for small x, so below x = 0.05 it is summed as a series too
 * (7 terms: truncation below 1e-11 relative). |F| ≤ max(|F_0|, η/λ_min) since |h|, |π| < 1 once
 * the integration is stable, which the step-size range of the parameter table guarantees
 * (dt/substeps ≤ 1 Euler, ≤ 2.7 RK4: the linear part is -h).
 *
 * The gradient is the discrete adjoint of exactly the stages computed (ode/ode.h). The forward
 * caches every stage input and its tanh; backward recomputes nothing but the H x H products.
 * A lane past its length holds h, F and π; its output is the held h.
 *
 * Per lane and step: forward K·S matrix-vector products with W_rec + P ⊙ F (K stages, S substeps)
 * plus the H² plastic update; backward K·S fused passes over H² (transposed product and the
 * gradients of W_rec, P and F) plus the H² plastic backward. Compiled twice (core/real.h). */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "core/dense.h"
#include "core/error.h"
#include "kernels/gemm.h"
#include "model/kind.h"
#include "ode/ode.h"

typedef struct ndm_index {
    int W_in, W_rec, b, P, eta, lam;
} ndm_index;

static ndm_index ndm_find(const mem_arch *a) {
    ndm_index ix;
    ix.W_in = mem_arch_find_param(a, "W_in");
    ix.W_rec = mem_arch_find_param(a, "W_rec");
    ix.b = mem_arch_find_param(a, "b");
    ix.P = mem_arch_find_param(a, "P");
    ix.eta = mem_arch_find_param(a, "eta_hat");
    ix.lam = mem_arch_find_param(a, "lambda_hat");
    return ix;
}

/* arch->hyper slots */
enum { HY_DT = 0, HY_SUBSTEPS, HY_METHOD, HY_PER_WEIGHT, HY_TRACE, HY_LAMBDA_MIN };

/* Sizes: state h | F | π; cache per step: stage inputs and their tanh (2 K S H) and the mean
 * |ΔF|/dt; backward: d(pre-activation) summed over stages (H). */
#define NDM_S(H) (2 * (H) + (H) * (H))
#define NDM_E(H, KS) (2 * (KS) * (H) + 1)

/* Scalars derived once per window (the per_window block). */
typedef struct ndm_scalars {
    mem_real eta, lam, decay, phi, dphi; /* η, λ, e^{-λdt}, φ, dφ/dλ */
} ndm_scalars;

static ndm_scalars ndm_scalars_of(const mem_real *w, const mem_arch *a, const ndm_index *ix) {
    ndm_scalars s;
    const mem_real dt = (mem_real)a->hyper[HY_DT];
    s.eta = mr_softplus(w[a->params[ix->eta].offset]);
    s.lam = (mem_real)a->hyper[HY_LAMBDA_MIN] + mr_softplus(w[a->params[ix->lam].offset]);
    const mem_real x = s.lam * dt;
    s.decay = mr_exp(-x);
    s.phi = x < MEM_R(1e-4) ? dt * (1 - x / 2 + x * x / 6) : -mr_expm1(-x) / s.lam;
    if (x < MEM_R(0.05)) {
        /* dφ/dλ = dt² Σ_{n≥1} (-1)^n n x^{n-1} / (n+1)!  (MEM_R(1.0): in the double build MEM_R(1)
         * is the int 1, and 1 / 840 would be 0) */
        const mem_real c6 = MEM_R(-7.0 / 40320), c5 = MEM_R(1.0 / 840), c4 = MEM_R(-1.0 / 144);
        const mem_real c3 = MEM_R(1.0 / 30), c2 = MEM_R(-1.0 / 8), c1 = MEM_R(1.0 / 3), c0 = MEM_R(-0.5);
        const mem_real c = (((((c6 * x + c5) * x + c4) * x + c3) * x + c2) * x + c1) * x + c0;
        s.dphi = dt * dt * c;
    } else {
        s.dphi = (dt * s.decay - s.phi) / s.lam;
    }
    return s;
}

/* Σ_j (w_j + p_j f_j) y_j: a row of W_rec + P ⊙ F (per-weight plasticity) times y. */
static inline mem_real nd_dot_plastic(const mem_real *w, const mem_real *p, const mem_real *f, const mem_real *y,
                                      int64_t n) {
    mem_real acc[MEM_DOT_LANES] = {0}, tail = 0;
    int64_t j = 0;
    for (; j + MEM_DOT_LANES <= n; j += MEM_DOT_LANES)
        for (int c = 0; c < MEM_DOT_LANES; c++) acc[c] += (w[j + c] + p[j + c] * f[j + c]) * y[j + c];
    for (; j < n; j++) tail += (w[j] + p[j] * f[j]) * y[j];
    return mem_dot_reduce(acc, tail);
}

/* What the right-hand side and its vjp need for one lane and step. */
typedef struct ndm_ctx {
    int64_t H;
    int per_weight;
    const mem_real *W, *P, *F; /* W_rec, P (H or H x H), F_{t-1} */
    const mem_real *drive;     /* W_in x_t (hoisted) */
    const mem_real *bias;
    mem_real *u;               /* tanh of each stage of the current substep (K x H) */
    /* backward only */
    mem_real *d;               /* H: the pre-activation gradient of a stage */
    mem_real *dc;              /* H: Σ over stages of d (the gradient of W_in x + b) */
    mem_real *gW, *gP, *gF;    /* block partials of W_rec and P; the lane's gradient wrt F_{t-1} */
} ndm_ctx;

/* u = tanh(u) (the pre-activations on entry), dy = u - y: apart from the dot products, so that it
 * vectorises (restrict: the stage cache, the stage input and the ODE's work never overlap). */
static inline void nd_rhs_finish(int64_t H, const mem_real *restrict y, mem_real *restrict u,
                                 mem_real *restrict dy) {
    for (int64_t i = 0; i < H; i++) {
        const mem_real ui = mr_tanh(u[i]);
        u[i] = ui;
        dy[i] = ui - y[i];
    }
}

/* f(y) = -y + tanh(W_in x + (W_rec + P ⊙ F) y + b) (MEM_SIMD_CLONES: also an AVX2 build, the same bits) */
static MEM_SIMD_CLONES void ndm_rhs(void *vctx, int stage, const mem_real *y, mem_real *dy) {
    const ndm_ctx *c = vctx;
    const int64_t H = c->H;
    mem_real *u = c->u + stage * H;
    for (int64_t i = 0; i < H; i++) {
        const mem_real *w = c->W + i * H, *f = c->F + i * H;
        mem_real pre = c->drive[i] + c->bias[i];
        if (c->per_weight) pre += nd_dot_plastic(w, c->P + i * H, f, y, H);
        else pre += mem_dot(w, y, H) + c->P[i] * mem_dot(f, y, H);
        u[i] = pre;
    }
    nd_rhs_finish(H, y, u, dy);
}

/* The vjp's per-row loops, with restrict pointers (the stage input, the ODE's work, the parameters,
 * the lane's state gradient and the block's sums never overlap) so that they vectorise. */
static inline void nd_vjp_d(int64_t H, const mem_real *restrict u, const mem_real *restrict gdy,
                            mem_real *restrict d, mem_real *restrict dc, mem_real *restrict gy) {
    for (int64_t i = 0; i < H; i++) {
        const mem_real di = (MEM_R(1) - u[i] * u[i]) * gdy[i];
        d[i] = di;
        dc[i] += di;
        gy[i] = -gdy[i];
    }
}

/* Row i of a per-weight A: gy += A_iᵀ d_i, and the row's gradients of W_rec, F and P. */
static inline void nd_vjp_row_weight(int64_t H, mem_real di, const mem_real *restrict y, const mem_real *restrict w,
                                     const mem_real *restrict p, const mem_real *restrict f, mem_real *restrict gy,
                                     mem_real *restrict gw, mem_real *restrict gf, mem_real *restrict gp) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real g = di * y[j];
        gy[j] += (w[j] + p[j] * f[j]) * di;
        gw[j] += g;
        gf[j] += p[j] * g;
        gp[j] += f[j] * g;
    }
}

/* The same for a per-neuron P (p = P_i); returns the row's gradient of P_i, summed in j order. */
static inline mem_real nd_vjp_row_neuron(int64_t H, mem_real di, mem_real p, const mem_real *restrict y,
                                         const mem_real *restrict w, const mem_real *restrict f,
                                         mem_real *restrict gy, mem_real *restrict gw, mem_real *restrict gf) {
    mem_real gp = 0;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g = di * y[j];
        gy[j] += (w[j] + p * f[j]) * di;
        gw[j] += g;
        gf[j] += p * g;
        gp += f[j] * g;
    }
    return gp;
}

/* Four consecutive rows of nd_vjp_row_neuron in one pass: each row's P_i gradient is a sum in j
 * order (a chain of dependent additions), and four independent chains overlap where one alone leaves
 * the adder waiting. gy_j still receives the rows in increasing order, so every value keeps its
 * bits. Each row is its own restrict parameter: with offsets from one pointer GCC wants alias
 * checks and leaves the loop scalar. */
static inline void nd_vjp_rows4_neuron_kernel(
    int64_t H, const mem_real *d, const mem_real *p, const mem_real *restrict y, mem_real *restrict gy,
    const mem_real *restrict w0, const mem_real *restrict w1, const mem_real *restrict w2,
    const mem_real *restrict w3, const mem_real *restrict f0, const mem_real *restrict f1,
    const mem_real *restrict f2, const mem_real *restrict f3, mem_real *restrict gw0, mem_real *restrict gw1,
    mem_real *restrict gw2, mem_real *restrict gw3, mem_real *restrict gf0, mem_real *restrict gf1,
    mem_real *restrict gf2, mem_real *restrict gf3, mem_real *gp_out) {
    const mem_real d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
    mem_real gp0 = 0, gp1 = 0, gp2 = 0, gp3 = 0;
    for (int64_t j = 0; j < H; j++) {
        const mem_real yj = y[j];
        const mem_real g0 = d0 * yj, g1 = d1 * yj, g2 = d2 * yj, g3 = d3 * yj;
        mem_real gyj = gy[j];
        gyj += (w0[j] + p0 * f0[j]) * d0;
        gyj += (w1[j] + p1 * f1[j]) * d1;
        gyj += (w2[j] + p2 * f2[j]) * d2;
        gyj += (w3[j] + p3 * f3[j]) * d3;
        gy[j] = gyj;
        gw0[j] += g0;
        gw1[j] += g1;
        gw2[j] += g2;
        gw3[j] += g3;
        gf0[j] += p0 * g0;
        gf1[j] += p1 * g1;
        gf2[j] += p2 * g2;
        gf3[j] += p3 * g3;
        gp0 += f0[j] * g0;
        gp1 += f1[j] * g1;
        gp2 += f2[j] * g2;
        gp3 += f3[j] * g3;
    }
    gp_out[0] = gp0;
    gp_out[1] = gp1;
    gp_out[2] = gp2;
    gp_out[3] = gp3;
}

typedef struct nd_rows4 {
    const mem_real *w, *f; /* rows i .. i+3 of W_rec and F (row stride H) */
    mem_real *gw, *gf;     /* the same rows of the block's W_rec sums and of the lane's F gradient */
} nd_rows4;

static inline void nd_vjp_rows4_neuron(int64_t H, const mem_real *d, const mem_real *p, const mem_real *y,
                                       mem_real *gy, nd_rows4 r, mem_real *gp_out) {
    nd_vjp_rows4_neuron_kernel(H, d, p, y, gy, r.w, r.w + H, r.w + 2 * H, r.w + 3 * H, r.f, r.f + H, r.f + 2 * H,
                               r.f + 3 * H, r.gw, r.gw + H, r.gw + 2 * H, r.gw + 3 * H, r.gf, r.gf + H,
                               r.gf + 2 * H, r.gf + 3 * H, gp_out);
}

/* gy = J_f(y)ᵀ gdy = -gdy + Aᵀ d with d = (1 - u²) ⊙ gdy, A = W_rec + P ⊙ F; and, in the same pass
 * over A, the gradients d yᵀ of W_rec, P ⊙ (d yᵀ) of F and F ⊙ (d yᵀ) of P. MEM_SIMD_CLONES as ndm_rhs. */
static MEM_SIMD_CLONES void ndm_vjp(void *vctx, int stage, const mem_real *y, const mem_real *gdy, mem_real *gy) {
    const ndm_ctx *c = vctx;
    const int64_t H = c->H;
    nd_vjp_d(H, c->u + stage * H, gdy, c->d, c->dc, gy);
    int64_t i = 0;
    if (!c->per_weight)
        for (; i + 4 <= H; i += 4) {
            mem_real gp[4];
            const nd_rows4 rows = {c->W + i * H, c->F + i * H, c->gW + i * H, c->gF + i * H};
            nd_vjp_rows4_neuron(H, c->d + i, c->P + i, y, gy, rows, gp);
            for (int r = 0; r < 4; r++) c->gP[i + r] += gp[r];
        }
    for (; i < H; i++) {
        const mem_real di = c->d[i];
        const mem_real *w = c->W + i * H, *f = c->F + i * H;
        mem_real *gw = c->gW + i * H, *gf = c->gF + i * H;
        if (c->per_weight) nd_vjp_row_weight(H, di, y, w, c->P + i * H, f, gy, gw, gf, c->gP + i * H);
        else c->gP[i] += nd_vjp_row_neuron(H, di, c->P[i], y, w, f, gy, gw, gf);
    }
}

/* Row i of the plastic update F_t = e F_{t-1} + post π_{t-1}ᵀ; returns moved + Σ_j |ΔF_ij| (j order). */
static inline mem_real nd_plastic_row(int64_t H, mem_real decay, mem_real post, const mem_real *restrict f0,
                                      const mem_real *restrict pi_p, mem_real *restrict f1, mem_real moved) {
    for (int64_t j = 0; j < H; j++) {
        const mem_real fj = decay * f0[j] + post * pi_p[j];
        f1[j] = fj;
        moved += mr_fabs(fj - f0[j]);
    }
    return moved;
}

/* Backward of row i of the plastic update: gf (the gradient wrt F_t, out: wrt F_{t-1}, scaled by e),
 * gpi += post gf; acc = Σ_j gf_j π_j and dec = Σ_j gf_j F_{t-1,j} (j order). */
static inline void nd_plastic_back_row(int64_t H, mem_real decay, mem_real post, const mem_real *restrict f0,
                                       const mem_real *restrict pi_p, mem_real *restrict gf,
                                       mem_real *restrict gpi, mem_real *acc_out, mem_real *dec_out) {
    mem_real acc = 0, dec = 0;
    for (int64_t j = 0; j < H; j++) {
        const mem_real g = gf[j];
        acc += g * pi_p[j];
        gpi[j] += post * g;
        dec += g * f0[j];
        gf[j] = decay * g;
    }
    *acc_out = acc;
    *dec_out = dec;
}

/* Four consecutive rows (stride H) of nd_plastic_back_row in one pass: eight independent chains of
 * additions instead of two; gpi_j receives the rows in increasing order (the same bits). */
static inline void nd_plastic_back_rows4(int64_t H, mem_real decay, const mem_real *post,
                                         const mem_real *restrict f0, const mem_real *restrict pi_p,
                                         mem_real *restrict gf, mem_real *restrict gpi, mem_real *acc_out,
                                         mem_real *dec_out) {
    const mem_real q0 = post[0], q1 = post[1], q2 = post[2], q3 = post[3];
    mem_real a0 = 0, a1 = 0, a2 = 0, a3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    for (int64_t j = 0; j < H; j++) {
        const mem_real pj = pi_p[j];
        const mem_real g0 = gf[j], g1 = gf[H + j], g2 = gf[2 * H + j], g3 = gf[3 * H + j];
        a0 += g0 * pj;
        a1 += g1 * pj;
        a2 += g2 * pj;
        a3 += g3 * pj;
        mem_real gpij = gpi[j];
        gpij += q0 * g0;
        gpij += q1 * g1;
        gpij += q2 * g2;
        gpij += q3 * g3;
        gpi[j] = gpij;
        e0 += g0 * f0[j];
        e1 += g1 * f0[H + j];
        e2 += g2 * f0[2 * H + j];
        e3 += g3 * f0[3 * H + j];
        gf[j] = decay * g0;
        gf[H + j] = decay * g1;
        gf[2 * H + j] = decay * g2;
        gf[3 * H + j] = decay * g3;
    }
    acc_out[0] = a0;
    acc_out[1] = a1;
    acc_out[2] = a2;
    acc_out[3] = a3;
    dec_out[0] = e0;
    dec_out[1] = e1;
    dec_out[2] = e2;
    dec_out[3] = e3;
}

static void ndm_forward(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                        mem_real *states, mem_real *proj, mem_real *extra, mem_real *z) {
    const mem_arch *a = net->arch;
    const ndm_index ix = ndm_find(a);
    const int64_t H = a->hidden, I = a->n_inputs, S = NDM_S(H);
    const int n_sub = (int)a->hyper[HY_SUBSTEPS];
    const mem_ode_method method = (mem_ode_method)(int)a->hyper[HY_METHOD];
    const int K = mem_ode_stages(method), KS = K * n_sub;
    const int64_t E = NDM_E(H, KS);
    const mem_real dt = (mem_real)a->hyper[HY_DT], h_sub = dt / (mem_real)n_sub;
    const mem_real rho = (mem_real)a->hyper[HY_TRACE], one_m_rho = 1 - rho;
    const ndm_scalars sc = ndm_scalars_of(net->w, a, &ix);
    const mem_real plastic_gain = sc.phi * sc.eta, inv_area_dt = 1 / ((mem_real)(H * H) * dt);
    mem_gemm_real(0, 1, T * B, H, I, MEM_R(1), x, I, net->w + a->params[ix.W_in].offset, I, MEM_R(0), proj, H,
                  net->n_threads);

    const int nt = mem_threads_for(net->n_threads, T * B * (KS * 4 * H * H + 4 * H * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        ndm_ctx ctx = {0};
        ctx.H = H;
        ctx.per_weight = (int)a->hyper[HY_PER_WEIGHT];
        ctx.W = net->w + a->params[ix.W_rec].offset;
        ctx.P = net->w + a->params[ix.P].offset;
        ctx.bias = net->w + a->params[ix.b].offset;
        for (int64_t t = 0; t < T; t++) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                const mem_real *prev = states + (t * B + lane) * S;
                mem_real *next = states + ((t + 1) * B + lane) * S;
                mem_real *zt = z + (t * B + lane) * H;
                mem_real *ys = extra + (t * B + lane) * E, *us = ys + KS * H;
                const mem_real *h_p = prev, *F_p = prev + H, *pi_p = prev + H + H * H;
                mem_real *h_n = next, *F_n = next + H, *pi_n = next + H + H * H;
                if (mem_lane_held(len, t, lane)) {
                    memcpy(next, prev, (size_t)S * sizeof *next);
                    memset(ys, 0, (size_t)E * sizeof *ys);
                    memcpy(zt, h_p, (size_t)H * sizeof *zt);
                    continue;
                }
                ctx.F = F_p;
                ctx.drive = proj + (t * B + lane) * H;
                /* substep s writes its result into the next substep's first stage input (the last
                 * into h_t); z_t is the work vector until it receives h_t */
                for (int s = 0; s < n_sub; s++) {
                    mem_real *stage_y = ys + (int64_t)s * K * H;
                    ctx.u = us + (int64_t)s * K * H;
                    const mem_real *y0 = s == 0 ? h_p : stage_y;
                    mem_real *y1 = s + 1 < n_sub ? stage_y + K * H : h_n;
                    MEM_FN(mem_ode_step)(method, H, h_sub, ndm_rhs, &ctx, y0, y1, stage_y, zt);
                }
                /* the plastic update with the trace of the step start, then the trace */
                mem_real moved = 0;
                for (int64_t i = 0; i < H; i++)
                    moved = nd_plastic_row(H, sc.decay, plastic_gain * h_n[i], F_p + i * H, pi_p, F_n + i * H, moved);
                ys[E - 1] = moved * inv_area_dt;
                for (int64_t j = 0; j < H; j++) pi_n[j] = rho * pi_p[j] + one_m_rho * h_n[j];
                memcpy(zt, h_n, (size_t)H * sizeof *zt);
            }
        }
    }
}

static void ndm_backward(mem_net *net, int64_t T, int64_t B, const mem_real *x, const int64_t *len,
                         const mem_real *states, const mem_real *proj, const mem_real *extra, const mem_real *dz,
                         mem_real *d_state, mem_real *scratch) {
    const mem_arch *a = net->arch;
    const ndm_index ix = ndm_find(a);
    const int64_t H = a->hidden, I = a->n_inputs, S = NDM_S(H), TB = T * B;
    const int64_t GPB = a->grad_per_block;
    const int per_weight = (int)a->hyper[HY_PER_WEIGHT];
    const int64_t n_p = per_weight ? H * H : H;
    const int n_sub = (int)a->hyper[HY_SUBSTEPS];
    const mem_ode_method method = (mem_ode_method)(int)a->hyper[HY_METHOD];
    const int K = mem_ode_stages(method), KS = K * n_sub;
    const int64_t E = NDM_E(H, KS);
    const mem_real dt = (mem_real)a->hyper[HY_DT], h_sub = dt / (mem_real)n_sub;
    const mem_real rho = (mem_real)a->hyper[HY_TRACE], one_m_rho = 1 - rho;
    const ndm_scalars sc = ndm_scalars_of(net->w, a, &ix);
    const mem_real plastic_gain = sc.phi * sc.eta;
    mem_real *partials = scratch + TB * H; /* per block: gW (H²) | gP | gη, gλ | temporaries (5 H) */

    const int64_t n_blocks = mem_lane_blocks(B);
    const int nt = mem_threads_for(net->n_threads, T * B * (KS * 8 * H * H + 8 * H * H));
    const int64_t n_chunks = mem_lane_chunks(B, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t chunk = 0; chunk < n_chunks; chunk++) {
        int64_t b0, b_end;
        mem_lane_chunk(B, n_chunks, chunk, &b0, &b_end);
        for (int64_t blk = b0 / MEM_LANE_BLOCK; blk < mem_lane_blocks(b_end); blk++)
            memset(partials + blk * GPB, 0, (size_t)(H * H + n_p + 2) * sizeof *partials);
        ndm_ctx ctx = {0};
        ctx.H = H;
        ctx.per_weight = per_weight;
        ctx.W = net->w + a->params[ix.W_rec].offset;
        ctx.P = net->w + a->params[ix.P].offset;
        for (int64_t t = T - 1; t >= 0; t--) {
            for (int64_t lane = b0; lane < b_end; lane++) {
                /* the lane's block's sums (the same order of additions in any chunk) and temporaries */
                mem_real *gW = partials + lane / MEM_LANE_BLOCK * GPB, *gP = gW + H * H, *g_scal = gP + n_p;
                mem_real *g_a = g_scal + 2, *g_b = g_a + H, *work = g_b + H, *d = work + 2 * H;
                mem_real *gh = d_state + lane * S, *gF = gh + H, *gpi = gh + H + H * H;
                const mem_real *dzt = dz + (t * B + lane) * H;
                mem_real *dc = scratch + (t * B + lane) * H;
                memset(dc, 0, (size_t)H * sizeof *dc);
                if (mem_lane_held(len, t, lane)) {
                    for (int64_t j = 0; j < H; j++) gh[j] += dzt[j];
                    continue;
                }
                const mem_real *prev = states + (t * B + lane) * S, *next = states + ((t + 1) * B + lane) * S;
                const mem_real *F_p = prev + H, *pi_p = prev + H + H * H, *h_n = next;
                const mem_real *ys = extra + (t * B + lane) * E, *us = ys + KS * H;
                /* h_t feeds z_t, the next step and the trace */
                for (int64_t j = 0; j < H; j++) {
                    g_a[j] = gh[j] + dzt[j] + one_m_rho * gpi[j];
                    gpi[j] *= rho;
                }
                /* F_t = e F_{t-1} + φ η h_t π_{t-1}ᵀ */
                mem_real s_hebb = 0, s_decay = 0;
                for (int64_t i0 = 0; i0 < H; i0 += 4) {
                    /* rows i0 .. i0+3 in one pass (nd_plastic_back_rows4), their sums then in row order */
                    const int64_t nr = H - i0 < 4 ? H - i0 : 4;
                    mem_real post[4], acc[4], dec[4];
                    for (int64_t r = 0; r < nr; r++) post[r] = plastic_gain * h_n[i0 + r];
                    if (nr == 4)
                        nd_plastic_back_rows4(H, sc.decay, post, F_p + i0 * H, pi_p, gF + i0 * H, gpi, acc, dec);
                    else
                        for (int64_t r = 0; r < nr; r++)
                            nd_plastic_back_row(H, sc.decay, post[r], F_p + (i0 + r) * H, pi_p, gF + (i0 + r) * H,
                                                gpi, &acc[r], &dec[r]);
                    for (int64_t r = 0; r < nr; r++) {
                        const mem_real hebb = acc[r] * h_n[i0 + r];
                        g_a[i0 + r] += plastic_gain * acc[r];
                        s_hebb += hebb;
                        s_decay += dec[r];
                    }
                }
                g_scal[0] += sc.phi * s_hebb;                                   /* dL/dη */
                g_scal[1] += -dt * sc.decay * s_decay + sc.dphi * sc.eta * s_hebb; /* dL/dλ */
                /* the integration of h, substeps in reverse */
                ctx.F = F_p;
                ctx.gF = gF;
                ctx.dc = dc;
                ctx.d = d;
                ctx.gW = gW;
                ctx.gP = gP;
                mem_real *g_in = g_a, *g_out = g_b;
                for (int s = n_sub - 1; s >= 0; s--) {
                    ctx.u = (mem_real *)us + (int64_t)s * K * H;
                    MEM_FN(mem_ode_step_backward)(method, H, h_sub, ndm_vjp, &ctx, ys + (int64_t)s * K * H, g_in, g_out,
                                                  work);
                    mem_real *tmp = g_in;
                    g_in = g_out;
                    g_out = tmp;
                }
                memcpy(gh, g_in, (size_t)H * sizeof *gh);
            }
        }
    }

    /* Block partials added in block order. */
    mem_real *g_rec = net->g + a->params[ix.W_rec].offset, *g_p = net->g + a->params[ix.P].offset;
    const mem_real *w = net->w;
    const mem_real d_eta = mr_sigmoid(w[a->params[ix.eta].offset]);
    const mem_real d_lam = mr_sigmoid(w[a->params[ix.lam].offset]);
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        const mem_real *gW = partials + blk * GPB, *gP = gW + H * H, *g_scal = gP + n_p;
        for (int64_t k = 0; k < H * H; k++) g_rec[k] += gW[k];
        for (int64_t k = 0; k < n_p; k++) g_p[k] += gP[k];
        net->g[a->params[ix.eta].offset] += g_scal[0] * d_eta;
        net->g[a->params[ix.lam].offset] += g_scal[1] * d_lam;
    }
    mem_gemm_real(1, 0, H, I, TB, MEM_R(1), scratch, H, x, I, MEM_R(1), net->g + a->params[ix.W_in].offset, I,
                  net->n_threads);
    mem_column_sums_add(scratch, TB, H, H, net->g + a->params[ix.b].offset);
}

/* Per-call statistics: the sum of the per-step mean |ΔF|/dt over valid steps and lanes, and their
 * count (sequential: deterministic). */
static void ndm_stats(const mem_net *net, int64_t T, int64_t B, const int64_t *len, const mem_real *proj,
                      const mem_real *extra, double *sums) {
    const mem_arch *a = net->arch;
    const int64_t E = a->extra_per_step;
    for (int64_t t = 0; t < T; t++)
        for (int64_t lane = 0; lane < B; lane++) {
            if (mem_lane_held(len, t, lane)) continue;
            sums[0] += (double)extra[(t * B + lane) * E + E - 1];
            sums[1] += 1.0;
        }
}

const mem_cell_ops MEM_FN(mem_ndm_ops) = {ndm_forward, ndm_backward, ndm_stats};

#ifndef MEM_REAL_DOUBLE
/* ---- type-independent part: configuration table, layout, diagnostics, consolidation ---- */

#define OPEN_BOTH (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN)
#define NDM_EULER_MAX_STEP 1.0
#define NDM_RK4_MAX_STEP 2.7

static const mem_param_def ndm_params[] = {
    {"dt", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 1.0, 0, 1000, MEM_BOUND_MIN_OPEN, NULL,
     "time integrated per input step; the step dt/substeps must lie in the integrator's stability range "
     "(<= 1 for euler, <= 2.7 for rk4)"},
    {"substeps", MEM_PARAM_INT, MEM_TABLE_ARCH, 1, 1, 1000, 0, NULL, "integrator steps per input step"},
    {"integrator", MEM_PARAM_CHOICE, MEM_TABLE_ARCH, 1, 0, 1, 0, "euler|rk4",
     "explicit Euler (1 stage) or classic Runge-Kutta 4 (4 stages) for dh/dt"},
    {"plasticity", MEM_PARAM_CHOICE, MEM_TABLE_ARCH, 0, 0, 1, 0, "neuron|weight",
     "plastic coefficient P per neuron (scales row i of F) or per weight"},
    {"trace_decay", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.95, 0, 1, OPEN_BOTH, NULL,
     "decay rho of the presynaptic Hebbian trace: pi_t = rho pi_{t-1} + (1 - rho) h_t"},
    {"eta", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 0.1, 0, 1e3, MEM_BOUND_MIN_OPEN, NULL,
     "initial plastic learning rate eta = softplus(eta_hat) (learned)"},
    {"decay_rate", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 1.0, 0, 1e3, MEM_BOUND_MIN_OPEN, NULL,
     "initial decay rate lambda of F (learned; lambda = lambda_min + softplus(lambda_hat))"},
    {"lambda_min", MEM_PARAM_FLOAT, MEM_TABLE_ARCH, 1e-3, 0, 1e3, MEM_BOUND_MIN_OPEN, NULL,
     "floor of lambda, so |F| <= eta / lambda_min"},
};

static mem_status ndm_layout(const mem_config *cfg, mem_arch *a) {
    const int64_t H = a->hidden, I = a->n_inputs;
    const double dt = mem_config_value(cfg, "dt"), n_sub = mem_config_value(cfg, "substeps");
    const int rk4 = (int)mem_config_value(cfg, "integrator") == 1;
    const double step = dt / n_sub, limit = rk4 ? NDM_RK4_MAX_STEP : NDM_EULER_MAX_STEP;
    if (!(step <= limit))
        return mem_fail(MEM_ERR_ARG,
                        "mem_model_create: dt/substeps=%g (dt=%g, substeps=%g) is outside the stability range of "
                        "integrator '%s' (step <= %g); raise substeps to at least %g or use a smaller dt",
                        step, dt, n_sub, rk4 ? "rk4" : "euler", limit, ceil(dt / limit));
    const double lam_min = mem_config_value(cfg, "lambda_min"), lam0 = mem_config_value(cfg, "decay_rate");
    if (!(lam0 > lam_min))
        return mem_fail(MEM_ERR_ARG, "mem_model_create: decay_rate=%g must exceed lambda_min=%g", lam0, lam_min);
    const int per_weight = (int)mem_config_value(cfg, "plasticity") == 1;
    const double eta0 = mem_config_value(cfg, "eta");
    const int64_t hi[2] = {H, I}, hh[2] = {H, H}, one = 1;
    const char *ax_hi[2] = {"H", "I"}, *ax_hh[2] = {"H", "H"}, *ax_h[1] = {"H"}, *ax_1[1] = {"1"};
    MEM_CHECK(mem_arch_add_param(a, "W_in", 2, hi, ax_hi, MEM_INIT_GLOROT, 0, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "W_rec", 2, hh, ax_hh, MEM_INIT_ORTHOGONAL, 0.5, 0, 1, 1));
    MEM_CHECK(mem_arch_add_param(a, "b", 1, &H, ax_h, MEM_INIT_ZERO, 0, 0, 1, 0));
    if (per_weight) MEM_CHECK(mem_arch_add_param(a, "P", 2, hh, ax_hh, MEM_INIT_CONST, 0.1, 0, 1, 0));
    else MEM_CHECK(mem_arch_add_param(a, "P", 1, &H, ax_h, MEM_INIT_CONST, 0.1, 0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "eta_hat", 1, &one, ax_1, MEM_INIT_SOFTPLUS_INV, eta0, eta0, 1, 0));
    MEM_CHECK(mem_arch_add_param(a, "lambda_hat", 1, &one, ax_1, MEM_INIT_SOFTPLUS_INV, lam0 - lam_min,
                                 lam0 - lam_min, 1, 0));
    MEM_CHECK(mem_arch_add_state(a, "h", 1, &H, ax_h));
    MEM_CHECK(mem_arch_add_state(a, "F", 2, hh, ax_hh));
    MEM_CHECK(mem_arch_add_state(a, "trace", 1, &H, ax_h));
    const int K = rk4 ? 4 : 1;
    a->hyper[HY_DT] = dt;
    a->hyper[HY_SUBSTEPS] = n_sub;
    a->hyper[HY_METHOD] = rk4 ? MEM_ODE_RK4 : MEM_ODE_EULER;
    a->hyper[HY_PER_WEIGHT] = per_weight;
    a->hyper[HY_TRACE] = mem_config_value(cfg, "trace_decay");
    a->hyper[HY_LAMBDA_MIN] = lam_min;
    a->proj_per_step = H;
    a->per_window = 0;
    a->extra_per_step = NDM_E(H, K * (int64_t)n_sub);
    a->bwd_per_step = H;
    a->grad_per_block = H * H + (per_weight ? H * H : H) + 2 + 5 * H;
    a->n_stats = 2;
    return MEM_OK;
}

static const char *const ndm_diag_names[] = {"weight_velocity", "plasticity", "plastic_energy"};

static double softplus_d(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* weight_velocity: mean |dF/dt| over the last call (the per-step mean |ΔF|/dt); without one, the
 * instantaneous mean |dF/dt| = |-λ F + η h πᵀ| at the stored memory (0 after reset_memory). */
static mem_status ndm_diag(const mem_arch *a, const float *w, const float *memory, const double *stats, int index,
                           double *values, int64_t capacity, int64_t *n_values) {
    const int64_t H = a->hidden;
    const float *F = memory + H, *h = memory, *pi = memory + H + H * H;
    double v = 0;
    if (index == 0) {
        if (stats && stats[1] > 0) {
            v = stats[0] / stats[1];
        } else {
            const double eta = softplus_d(w[a->params[mem_arch_find_param(a, "eta_hat")].offset]);
            const double lam = a->hyper[HY_LAMBDA_MIN] + softplus_d(w[a->params[mem_arch_find_param(a, "lambda_hat")].offset]);
            for (int64_t i = 0; i < H; i++)
                for (int64_t j = 0; j < H; j++) v += fabs(-lam * F[i * H + j] + eta * h[i] * pi[j]);
            v /= (double)(H * H);
        }
    } else if (index == 1) {
        const mem_tensor_spec *p = &a->params[mem_arch_find_param(a, "P")];
        for (int64_t k = 0; k < p->size; k++) v += w[p->offset + k];
        v /= (double)p->size;
    } else {
        for (int64_t k = 0; k < H * H; k++) v += fabs((double)F[k]);
        v /= (double)(H * H);
    }
    *n_values = 1;
    if (capacity >= 1) values[0] = v;
    return MEM_OK;
}

/* W_rec += rate P ⊙ F, F <- (1 - rate) F on the stored memory: the effective recurrent weight
 * W_rec + P ⊙ F does not move. A frozen W_rec entry keeps both its weight and its F entry. */
static mem_status ndm_consolidate(const mem_arch *a, float *w, const uint8_t *frozen, float *memory, double rate) {
    const int64_t H = a->hidden;
    const mem_tensor_spec *rec = &a->params[mem_arch_find_param(a, "W_rec")];
    const mem_tensor_spec *p = &a->params[mem_arch_find_param(a, "P")];
    const int per_weight = p->ndim == 2;
    float *F = memory + H;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < H; j++) {
            const int64_t k = i * H + j;
            if (frozen && frozen[rec->offset + k]) continue;
            const double pk = w[p->offset + (per_weight ? k : i)], f = F[k];
            w[rec->offset + k] = (float)((double)w[rec->offset + k] + rate * (pk * f));
            F[k] = (float)((1.0 - rate) * f);
        }
    return MEM_OK;
}

const mem_kind mem_kind_ndm = {
    .name = "ndm",
    .doc = "neural differential manifold: continuous-time recurrent layer (Euler or RK4) with fast Hebbian "
           "plastic weights that evolve by an ODE during every sequence",
    .params = ndm_params,
    .n_params = (int)(sizeof ndm_params / sizeof ndm_params[0]),
    .default_learning_rate = 0.03, /* bench/learning_rate_sweep.md */
    .default_skip = 0,
    .layout = ndm_layout,
    .diag_names = ndm_diag_names,
    .n_diags = 3,
    .diag = ndm_diag,
    .ops_f32 = &mem_ndm_ops_f32,
    .consolidate = ndm_consolidate,
};
#endif
