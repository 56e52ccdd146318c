/* The associative-memory manifold: per-lane, per-step read/write and their exact backward
 * (see manifold.h for the equations). Compiled twice (float and double, see core/real.h).
 *
 * Cost per lane and step (M rows, H columns): forward 4 M·H multiply-adds (Q q_src, 𝓜ᵀ q, K w_src,
 * the write) + H² (V w_src); backward 4 M·H (one fused pass over 𝓜 for dγ, dk, dv, dq and the
 * carried gradient, then Qᵀ du and Kᵀ dk_pre) + H² (Vᵀ dv_pre), plus the window GEMMs for the
 * gradients of Q, K and V. All sums run in a fixed order, so results never depend on threads.
 * The per-lane passes are MEM_SIMD_CLONES (core/real.h): an AVX2 build of the same operations,
 * the same bits. They are static behind thin exported wrappers: GCC makes the dispatcher of an
 * external multi-versioned function visible outside the library whatever its visibility. */
#define MEM_GENERIC_SOURCE
#include "memory/manifold.h"

#include <string.h>

#include "kernels/gemm.h"

void MEM_FN(mem_manifold_set_gamma)(mem_manifold *p, mem_real gamma_logit) {
    p->gamma = mr_sigmoid(gamma_logit);
    p->one_minus_gamma = mr_sigmoid(-gamma_logit);
}

/* out (rows) = A (rows x cols, row-major) · x (cols). The two products are AVX2 clones as well
 * (the step functions that call them are not). */
static MEM_SIMD_CLONES void matvec(const mem_real *restrict A, int64_t rows, int64_t cols,
                                   const mem_real *restrict x, mem_real *restrict out) {
    for (int64_t i = 0; i < rows; i++) out[i] = mem_dot(A + i * cols, x, cols);
}

/* out (cols) = Aᵀ · x (rows), or out += Aᵀ · x when add, accumulated row by row (contiguous inner
 * loop). */
static MEM_SIMD_CLONES void matvec_t(const mem_real *restrict A, int64_t rows, int64_t cols,
                                     const mem_real *restrict x, mem_real *restrict out, int add) {
    if (!add) memset(out, 0, (size_t)cols * sizeof *out);
    for (int64_t i = 0; i < rows; i++) {
        const mem_real *row = A + i * cols;
        const mem_real xi = x[i];
        for (int64_t j = 0; j < cols; j++) out[j] += row[j] * xi;
    }
}

/* q = softmax(q) in place, with the maximum subtracted: exp never overflows and the largest term is
 * exactly 1, so the sum is at least 1. */
static inline void softmax_inplace(mem_real *q, int64_t M) {
    mem_real mx = q[0];
    for (int64_t i = 1; i < M; i++) mx = q[i] > mx ? q[i] : mx;
    mem_real sum = 0;
    for (int64_t i = 0; i < M; i++) {
        q[i] = mr_exp(q[i] - mx);
        sum += q[i];
    }
    const mem_real inv = MEM_R(1) / sum;
    for (int64_t i = 0; i < M; i++) q[i] *= inv;
}

static inline void write_activate(int64_t M, int64_t H, mem_real *k, mem_real *v) {
    for (int64_t i = 0; i < M; i++) k[i] = mr_sigmoid(k[i]);
    for (int64_t j = 0; j < H; j++) v[j] = mr_tanh(v[j]);
}

static MEM_SIMD_CLONES void read_logits_impl(const mem_manifold *p, mem_real *q, const mem_real *mem,
                                             mem_real *r) {
    softmax_inplace(q, p->M);
    matvec_t(mem, p->M, p->H, q, r, 0);
}

static MEM_SIMD_CLONES void activate_impl(const mem_manifold *p, mem_real *q, mem_real *k, mem_real *v) {
    softmax_inplace(q, p->M);
    write_activate(p->M, p->H, k, v);
}

void MEM_FN(mem_manifold_activate)(const mem_manifold *p, mem_real *q, mem_real *k, mem_real *v) {
    activate_impl(p, q, k, v);
}

void MEM_FN(mem_manifold_read)(const mem_manifold *p, const mem_real *q_src, const mem_real *mem, mem_real *q,
                               mem_real *r) {
    matvec(p->Q, p->M, p->H, q_src, q);
    read_logits_impl(p, q, mem, r);
}

static MEM_SIMD_CLONES void write_pre_impl(const mem_manifold *p, const mem_real *mem_prev,
                                           mem_real *mem_next, mem_real *k, mem_real *v) {
    const int64_t M = p->M, H = p->H;
    write_activate(M, H, k, v);
    const mem_real g = p->gamma, omg = p->one_minus_gamma;
    for (int64_t i = 0; i < M; i++) {
        const mem_real *src = mem_prev + i * H;
        mem_real *dst = mem_next + i * H;
        const mem_real wk = omg * k[i];
        for (int64_t j = 0; j < H; j++) dst[j] = g * src[j] + wk * v[j];
    }
}

void MEM_FN(mem_manifold_write)(const mem_manifold *p, const mem_real *w_src, const mem_real *mem_prev,
                                mem_real *mem_next, mem_real *k, mem_real *v) {
    matvec(p->K, p->M, p->H, w_src, k);
    matvec(p->V, p->H, p->H, w_src, v);
    write_pre_impl(p, mem_prev, mem_next, k, v);
}

/* du_i = q_i (dq_i - Σ_k q_k dq_k): the softmax Jacobian applied to dq (in place). */
static void softmax_backward(const mem_real *q, mem_real *dq, int64_t M) {
    mem_real dot = 0;
    for (int64_t i = 0; i < M; i++) dot += q[i] * dq[i];
    for (int64_t i = 0; i < M; i++) dq[i] = q[i] * (dq[i] - dot);
}

static MEM_SIMD_CLONES void read_backward_pre_impl(const mem_manifold *p, const mem_real *mem,
                                                   const mem_real *q, const mem_real *dr, mem_real *g_mem,
                                                   mem_real *du) {
    const int64_t M = p->M, H = p->H;
    for (int64_t i = 0; i < M; i++) {
        const mem_real *row = mem + i * H;
        mem_real *grow = g_mem + i * H;
        const mem_real qi = q[i];
        for (int64_t j = 0; j < H; j++) grow[j] += qi * dr[j];
        du[i] = mem_dot(row, dr, H);
    }
    softmax_backward(q, du, M);
}

void MEM_FN(mem_manifold_read_backward)(const mem_manifold *p, const mem_real *mem, const mem_real *q,
                                        const mem_real *dr, mem_real *g_mem, mem_real *du, mem_real *d_q_src) {
    read_backward_pre_impl(p, mem, q, dr, g_mem, du);
    matvec_t(p->Q, p->M, p->H, du, d_q_src, 0);
}

static MEM_SIMD_CLONES void step_backward_pre_impl(const mem_manifold *p, const mem_real *mem_prev,
                                                   const mem_real *q, const mem_real *k, const mem_real *v,
                                                   const mem_real *dr, mem_real *g_mem, mem_real *du,
                                                   mem_real *dk_pre, mem_real *dv_pre, mem_real *d_gamma) {
    const int64_t M = p->M, H = p->H;
    const mem_real g = p->gamma, omg = p->one_minus_gamma;
    /* dv_pre first accumulates Σ_i g_ij k_i (the gradient wrt v over (1 - γ)). */
    memset(dv_pre, 0, (size_t)H * sizeof *dv_pre);
    /* The buffers never overlap (state, cache, scratch); saying so lets the update loop vectorise.
     * Each row takes three dot products and one update pass (all vectorisable) rather than one
     * fused loop, which the compiler leaves scalar. */
    mem_real *restrict dvp = dv_pre;
    const mem_real *restrict drr = dr;
    mem_real dg = 0;
    for (int64_t i = 0; i < M; i++) {
        const mem_real *restrict prev = mem_prev + i * H;
        mem_real *restrict grow = g_mem + i * H;
        const mem_real qi = q[i], ki = k[i];
        /* ∂𝓜_t/∂γ = 𝓜_{t-1} - k vᵀ: Σ_j g_ij 𝓜_{t-1,ij} - k_i Σ_j g_ij v_j */
        const mem_real dk = mem_dot(grow, v, H);
        dg += mem_dot(grow, prev, H) - ki * dk;
        du[i] = mem_dot(prev, drr, H);
        dk_pre[i] = omg * dk * ki * (MEM_R(1) - ki);
        for (int64_t j = 0; j < H; j++) {
            const mem_real gij = grow[j];
            dvp[j] += gij * ki;
            grow[j] = g * gij + qi * drr[j];
        }
    }
    *d_gamma += dg;
    for (int64_t j = 0; j < H; j++) dv_pre[j] *= omg * (MEM_R(1) - v[j] * v[j]);
    softmax_backward(q, du, M);
}

void MEM_FN(mem_manifold_step_backward)(const mem_manifold *p, const mem_real *mem_prev, const mem_real *q,
                                        const mem_real *k, const mem_real *v, const mem_real *dr, mem_real *g_mem,
                                        mem_real *du, mem_real *dk_pre, mem_real *dv_pre, mem_real *d_q_src,
                                        mem_real *d_w_src, mem_real *d_gamma) {
    const int64_t M = p->M, H = p->H;
    step_backward_pre_impl(p, mem_prev, q, k, v, dr, g_mem, du, dk_pre, dv_pre, d_gamma);
    matvec_t(p->Q, M, H, du, d_q_src, 0);
    /* d_w_src = Kᵀ dk_pre + Vᵀ dv_pre */
    matvec_t(p->K, M, H, dk_pre, d_w_src, 0);
    matvec_t(p->V, H, H, dv_pre, d_w_src, 1);
}

void MEM_FN(mem_manifold_param_grads)(const mem_manifold *p, int64_t rows, const mem_real *du, int64_t ld_du,
                                      const mem_real *q_src, int64_t ld_q, const mem_real *dk_pre, int64_t ld_dk,
                                      const mem_real *dv_pre, int64_t ld_dv, const mem_real *w_src, int64_t ld_w,
                                      mem_real *gQ, mem_real *gK, mem_real *gV, int n_threads) {
    const int64_t M = p->M, H = p->H;
    mem_gemm_real(1, 0, M, H, rows, MEM_R(1), du, ld_du, q_src, ld_q, MEM_R(1), gQ, H, n_threads);
    mem_gemm_real(1, 0, M, H, rows, MEM_R(1), dk_pre, ld_dk, w_src, ld_w, MEM_R(1), gK, H, n_threads);
    mem_gemm_real(1, 0, H, H, rows, MEM_R(1), dv_pre, ld_dv, w_src, ld_w, MEM_R(1), gV, H, n_threads);
}

#ifndef MEM_REAL_DOUBLE
double mem_manifold_energy(const float *memory, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)memory[i]);
    return n > 0 ? s / (double)n : 0.0;
}
#endif
