/* The manifold over a whole window of one lane, in chunks of MEM_MANIFOLD_CHUNK steps (the
 * "parallel over time" form of a decaying linear memory), for a cell whose query and write sources
 * do not depend on what the manifold returns (AMN). Same equations as manifold.c; the step-by-step
 * passes over 𝓜 become small matrix products, and only the chunk ends of 𝓜 are stored.
 *
 * Within a chunk (local steps i = 0..C-1, the first nv write, the rest hold), with c = 1 - γ and
 * m_i = min(i, nv) the writes before step i:
 *
 *   𝓜_(i) = γ^{m_i} 𝓜_0 + Σ_{s < m_i} c γ^{m_i-s-1} k_s v_sᵀ
 *   R = D Q 𝓜_0 + (S ∘ Q Kᵀ) V,   D = diag(γ^{m_i}),  S_is = c γ^{m_i-s-1} [s < m_i]
 *   𝓜_end = γ^{nv} 𝓜_0 + Kᵀ W V,   W = diag(w_s),  w_s = c γ^{nv-s-1} [s < nv]
 *
 * Backward differentiates these products (dγ through every power of γ and through c). The sums run
 * in a fixed order per lane, so results never depend on threads; they round differently from the
 * step-by-step form. Compiled twice (float and double, see core/real.h). */
#define MEM_GENERIC_SOURCE
#include <string.h>

#include "memory/manifold.h"

static inline void chunk_scale(mem_real *restrict x, int64_t n, mem_real s) {
    for (int64_t j = 0; j < n; j++) x[j] *= s;
}

/* The chunk's products are too small for the blocked GEMM (its packing and set-up cost more than
 * the product), so they get two register-blocked kernels of their own, written with GCC/Clang
 * vector extensions (one vector = 32 bytes: 8 floats or 4 doubles, two SSE registers in the
 * baseline build) and compiled for AVX2 as well. Each lane does the same multiply and add as the
 * scalar code (no contraction), so both builds give the same bits. */
typedef mem_real chunk_vec __attribute__((vector_size(32)));
#define VL ((int64_t)(sizeof(chunk_vec) / sizeof(mem_real)))

/* Unaligned loads and stores (memcpy compiles to one move). Macros rather than functions: a
 * function taking or returning a 32-byte vector has a different ABI with and without AVX. */
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(chunk_vec))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(chunk_vec))

/* product_nn: C = beta C + A B, C (m x n) and B (k x n) rows contiguous, A's element (i, p) at
 * a[i ars + p aks] (so Aᵀ costs nothing). Blocks of NN_R rows by two vectors: 8 accumulators. */
#define NN_R 4

static MEM_SIMD_CLONES void product_nn(int64_t m, int64_t n, int64_t k, const mem_real *a, int64_t ars,
                                       int64_t aks, const mem_real *b, int64_t ldb, mem_real beta, mem_real *c,
                                       int64_t ldc) {
    const int64_t W = 2 * VL;
    for (int64_t i0 = 0; i0 < m; i0 += NN_R) {
        for (int64_t j0 = 0; j0 < n; j0 += W) {
            if (i0 + NN_R <= m && j0 + W <= n) {
                chunk_vec acc[NN_R][2];
                for (int r = 0; r < NN_R; r++) acc[r][0] = acc[r][1] = (chunk_vec){0};
                for (int64_t p = 0; p < k; p++) {
                    chunk_vec b0, b1;
                    VLOAD(b0, b + p * ldb + j0);
                    VLOAD(b1, b + p * ldb + j0 + VL);
                    for (int r = 0; r < NN_R; r++) {
                        const mem_real ar = a[(i0 + r) * ars + p * aks];
                        acc[r][0] += ar * b0;
                        acc[r][1] += ar * b1;
                    }
                }
                for (int r = 0; r < NN_R; r++) {
                    mem_real *cr = c + (i0 + r) * ldc + j0;
                    if (beta != MEM_R(0)) {
                        chunk_vec c0, c1;
                        VLOAD(c0, cr);
                        VLOAD(c1, cr + VL);
                        acc[r][0] += beta * c0;
                        acc[r][1] += beta * c1;
                    }
                    VSTORE(cr, acc[r][0]);
                    VSTORE(cr + VL, acc[r][1]);
                }
                continue;
            }
            const int64_t i1 = i0 + NN_R < m ? i0 + NN_R : m, j1 = j0 + W < n ? j0 + W : n;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) {
                    mem_real acc = 0;
                    for (int64_t p = 0; p < k; p++) acc += a[i * ars + p * aks] * b[p * ldb + j];
                    c[i * ldc + j] = beta == MEM_R(0) ? acc : acc + beta * c[i * ldc + j];
                }
        }
    }
}

/* product_nt: C = A Bᵀ (C m x n, A m x k and B n x k rows contiguous): NT_R x NT_S dot products at
 * a time in vector partial sums (8 accumulators), each reduced in a fixed order. */
#define NT_R 2
#define NT_S 4

static inline mem_real vreduce(const chunk_vec *v, mem_real tail) {
    mem_real l[sizeof(chunk_vec) / sizeof(mem_real)];
    memcpy(l, v, sizeof l);
    for (int64_t w = VL; w > 1; w /= 2) /* pairwise: lane j += lane j + w/2 */
        for (int64_t j = 0; j < w / 2; j++) l[j] += l[j + w / 2];
    return l[0] + tail;
}

static MEM_SIMD_CLONES void product_nt(int64_t m, int64_t n, int64_t k, const mem_real *a, int64_t lda,
                                       const mem_real *b, int64_t ldb, mem_real *c, int64_t ldc) {
    const int64_t kv = k / VL * VL;
    for (int64_t i0 = 0; i0 < m; i0 += NT_R) {
        for (int64_t j0 = 0; j0 < n; j0 += NT_S) {
            const int64_t i1 = i0 + NT_R < m ? i0 + NT_R : m, j1 = j0 + NT_S < n ? j0 + NT_S : n;
            if (i1 - i0 == NT_R && j1 - j0 == NT_S) {
                chunk_vec acc[NT_R][NT_S];
                for (int r = 0; r < NT_R; r++)
                    for (int s = 0; s < NT_S; s++) acc[r][s] = (chunk_vec){0};
                for (int64_t p = 0; p < kv; p += VL) {
                    chunk_vec a0, a1;
                    VLOAD(a0, a + i0 * lda + p);
                    VLOAD(a1, a + (i0 + 1) * lda + p);
                    for (int s = 0; s < NT_S; s++) {
                        chunk_vec bs;
                        VLOAD(bs, b + (j0 + s) * ldb + p);
                        acc[0][s] += a0 * bs;
                        acc[1][s] += a1 * bs;
                    }
                }
                for (int r = 0; r < NT_R; r++)
                    for (int s = 0; s < NT_S; s++) {
                        mem_real tail = 0;
                        for (int64_t p = kv; p < k; p++) tail += a[(i0 + r) * lda + p] * b[(j0 + s) * ldb + p];
                        c[(i0 + r) * ldc + j0 + s] = vreduce(&acc[r][s], tail);
                    }
                continue;
            }
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) {
                    chunk_vec acc = {0};
                    mem_real tail = 0;
                    for (int64_t p = 0; p < kv; p += VL) {
                        chunk_vec av, bv;
                        VLOAD(av, a + i * lda + p);
                        VLOAD(bv, b + j * ldb + p);
                        acc += av * bv;
                    }
                    for (int64_t p = kv; p < k; p++) tail += a[i * lda + p] * b[j * ldb + p];
                    c[i * ldc + j] = vreduce(&acc, tail);
                }
        }
    }
}

/* pw[e] = γ^e for e = 0..C (repeated products: the same bits in every chunk and lane). */
static void gamma_powers(mem_real gamma, int64_t C, mem_real *pw) {
    pw[0] = MEM_R(1);
    for (int64_t e = 1; e <= C; e++) pw[e] = pw[e - 1] * gamma;
}

/* d(c γ^e)/dγ = -γ^e + c e γ^{e-1} */
static inline mem_real decay_slope(const mem_real *pw, mem_real c, int64_t e) {
    return e > 0 ? -pw[e] + c * (mem_real)e * pw[e - 1] : -pw[0];
}

/* The chunk functions are AVX2 clones too, for their elementwise loops (scaling, decays,
 * transposes, the softmax, σ and tanh backward); static behind the exported wrappers below. */
static MEM_SIMD_CLONES void chunk_forward(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                          const mem_real *k, const mem_real *v, int64_t ld, mem_real *r,
                                          int64_t ld_r, mem_real *mem, int64_t ld_mem, mem_real *tmp,
                                          int64_t ld_tmp) {
    const int64_t M = p->M, H = p->H, C = MEM_MANIFOLD_CHUNK;
    const mem_real c = p->one_minus_gamma;
    mem_real pw[MEM_MANIFOLD_CHUNK + 1], A[MEM_MANIFOLD_CHUNK * MEM_MANIFOLD_CHUNK];
    gamma_powers(p->gamma, C, pw);
    for (int64_t c0 = 0; c0 < T; c0 += C) {
        const int64_t Cc = T - c0 < C ? T - c0 : C;
        const int64_t nv = n_valid <= c0 ? 0 : (n_valid - c0 < Cc ? n_valid - c0 : Cc);
        const mem_real *Qc = q + c0 * ld, *Kc = k + c0 * ld, *Vc = v + c0 * ld, *M0 = mem + c0 * ld_mem;
        mem_real *Rc = r + c0 * ld_r, *M1 = mem + (c0 + Cc) * ld_mem, *WV = tmp + c0 * ld_tmp;
        /* the reads of 𝓜_0, decayed by the writes before each step */
        product_nn(Cc, H, M, Qc, ld, 1, M0, H, MEM_R(0), Rc, ld_r);
        for (int64_t i = 1; i < Cc; i++) chunk_scale(Rc + i * ld_r, H, pw[i < nv ? i : nv]);
        if (nv > 0) {
            /* the reads of this chunk's own writes: (S ∘ Q Kᵀ) V */
            product_nt(Cc, nv, M, Qc, ld, Kc, ld, A, C);
            for (int64_t i = 0; i < Cc; i++) {
                const int64_t m = i < nv ? i : nv;
                for (int64_t s = 0; s < nv; s++) A[i * C + s] = s < m ? c * pw[m - s - 1] * A[i * C + s] : MEM_R(0);
            }
            product_nn(Cc, H, nv, A, C, 1, Vc, ld, MEM_R(1), Rc, ld_r);
        }
        /* 𝓜_end = γ^{nv} 𝓜_0 + Kᵀ W V */
        const mem_real decay = pw[nv];
        for (int64_t e = 0; e < M * H; e++) M1[e] = decay * M0[e];
        if (nv > 0) {
            for (int64_t s = 0; s < nv; s++) {
                const mem_real w = c * pw[nv - s - 1];
                for (int64_t j = 0; j < H; j++) WV[s * ld_tmp + j] = w * Vc[s * ld + j];
            }
            product_nn(M, H, nv, Kc, 1, ld, WV, ld_tmp, MEM_R(1), M1, H);
        }
    }
}

static MEM_SIMD_CLONES void chunk_backward(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                           const mem_real *k, const mem_real *v, int64_t ld, const mem_real *mem,
                                           int64_t ld_mem, const mem_real *dr, int64_t ld_dr, mem_real *g_mem,
                                           mem_real *du, mem_real *dk_pre, mem_real *dv_pre, int64_t ld_d,
                                           mem_real *tmp, int64_t ld_tmp, mem_real *work, mem_real *d_gamma) {
    const int64_t M = p->M, H = p->H, C = MEM_MANIFOLD_CHUNK;
    const mem_real c = p->one_minus_gamma;
    mem_real pw[MEM_MANIFOLD_CHUNK + 1], A[MEM_MANIFOLD_CHUNK * MEM_MANIFOLD_CHUNK];
    mem_real dA[MEM_MANIFOLD_CHUNK * MEM_MANIFOLD_CHUNK];
    gamma_powers(p->gamma, C, pw);
    /* work: the transposed operand (H x C) and product (M x C) of the two products whose inner
     * dimension is H, so that they run as product_nn (dot products would cost a reduction each) */
    mem_real *bT = work, *oT = work + H * C;
    mem_real dg = 0;
    const int64_t n_chunks = (T + C - 1) / C;
    for (int64_t ci = n_chunks - 1; ci >= 0; ci--) {
        const int64_t c0 = ci * C, Cc = T - c0 < C ? T - c0 : C;
        const int64_t nv = n_valid <= c0 ? 0 : (n_valid - c0 < Cc ? n_valid - c0 : Cc);
        const mem_real *Qc = q + c0 * ld, *Kc = k + c0 * ld, *Vc = v + c0 * ld, *M0 = mem + c0 * ld_mem;
        const mem_real *dRc = dr + c0 * ld_dr;
        mem_real *DU = du + c0 * ld_d, *DK = dk_pre + c0 * ld_d, *DV = dv_pre + c0 * ld_d, *DdR = tmp + c0 * ld_tmp;
        /* dQ, inter-chunk part: D dR 𝓜_0ᵀ (and dγ through D), formed as 𝓜_0 dRᵀ */
        mem_transpose_strided(Cc, H, dRc, ld_dr, bT, C);
        product_nn(M, Cc, H, M0, H, 1, bT, C, MEM_R(0), oT, C);
        mem_transpose_strided(M, Cc, oT, C, DU, ld_d);
        for (int64_t i = 1; i < Cc; i++) {
            const int64_t m = i < nv ? i : nv;
            if (m == 0) continue;
            dg += (mem_real)m * pw[m - 1] * mem_dot(DU + i * ld_d, Qc + i * ld, M);
            chunk_scale(DU + i * ld_d, M, pw[m]);
        }
        if (nv > 0) {
            /* the intra-chunk products A = S ∘ Q Kᵀ and dA = dR Vᵀ (then S ∘ dA), as product_nn with
             * Kᵀ and Vᵀ in the work buffers (Vᵀ serves dK below too) */
            mem_transpose_strided(nv, M, Kc, ld, oT, C);
            product_nn(Cc, nv, M, Qc, ld, 1, oT, C, MEM_R(0), A, C);
            mem_transpose_strided(nv, H, Vc, ld, bT, C);
            product_nn(Cc, nv, H, dRc, ld_dr, 1, bT, C, MEM_R(0), dA, C);
            for (int64_t i = 0; i < Cc; i++) {
                const int64_t m = i < nv ? i : nv;
                for (int64_t s = 0; s < nv; s++) {
                    mem_real *a_is = A + i * C + s, *da_is = dA + i * C + s;
                    if (s < m) {
                        const int64_t e = m - s - 1;
                        const mem_real S = c * pw[e];
                        dg += *da_is * *a_is * decay_slope(pw, c, e);
                        *a_is *= S;
                        *da_is *= S;
                    } else {
                        *a_is = *da_is = MEM_R(0);
                    }
                }
            }
            product_nn(Cc, M, nv, dA, C, 1, Kc, ld, MEM_R(1), DU, ld_d);
            /* dV = W K G + Aᵀ dR (dγ through W first) */
            product_nn(nv, H, M, Kc, ld, 1, g_mem, H, MEM_R(0), DV, ld_d);
            for (int64_t s = 0; s < nv; s++) {
                const int64_t e = nv - s - 1;
                dg += decay_slope(pw, c, e) * mem_dot(DV + s * ld_d, Vc + s * ld, H);
                chunk_scale(DV + s * ld_d, H, c * pw[e]);
            }
            product_nn(nv, H, Cc, A, 1, C, dRc, ld_dr, MEM_R(1), DV, ld_d);
            /* dK = W V Gᵀ + (S ∘ dA)ᵀ Q */
            product_nn(M, nv, H, g_mem, H, 1, bT, C, MEM_R(0), oT, C);
            mem_transpose_strided(M, nv, oT, C, DK, ld_d);
            for (int64_t s = 0; s < nv; s++) chunk_scale(DK + s * ld_d, M, c * pw[nv - s - 1]);
            product_nn(nv, M, Cc, dA, 1, C, Qc, ld, MEM_R(1), DK, ld_d);
            /* dγ through the decay of 𝓜_0 into 𝓜_end */
            dg += (mem_real)nv * pw[nv - 1] * mem_dot(g_mem, M0, M * H);
        }
        for (int64_t s = nv; s < Cc; s++) { /* held steps write nothing */
            memset(DK + s * ld_d, 0, (size_t)M * sizeof *DK);
            memset(DV + s * ld_d, 0, (size_t)H * sizeof *DV);
        }
        /* the gradient wrt 𝓜_0: Qᵀ D dR + γ^{nv} G */
        for (int64_t i = 0; i < Cc; i++) {
            const mem_real d = pw[i < nv ? i : nv];
            for (int64_t j = 0; j < H; j++) DdR[i * ld_tmp + j] = d * dRc[i * ld_dr + j];
        }
        product_nn(M, H, Cc, Qc, 1, ld, DdR, ld_tmp, pw[nv], g_mem, H);
        /* through the softmax, σ and tanh */
        for (int64_t i = 0; i < Cc; i++) {
            const mem_real *qi = Qc + i * ld;
            mem_real *dui = DU + i * ld_d;
            const mem_real dot = mem_dot(qi, dui, M);
            for (int64_t j = 0; j < M; j++) dui[j] = qi[j] * (dui[j] - dot);
        }
        for (int64_t s = 0; s < nv; s++) {
            const mem_real *ks = Kc + s * ld, *vs = Vc + s * ld;
            mem_real *dks = DK + s * ld_d, *dvs = DV + s * ld_d;
            for (int64_t j = 0; j < M; j++) dks[j] *= ks[j] * (MEM_R(1) - ks[j]);
            for (int64_t j = 0; j < H; j++) dvs[j] *= MEM_R(1) - vs[j] * vs[j];
        }
    }
    *d_gamma += dg;
}

void MEM_FN(mem_manifold_chunk_forward)(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                        const mem_real *k, const mem_real *v, int64_t ld, mem_real *r,
                                        int64_t ld_r, mem_real *mem, int64_t ld_mem, mem_real *tmp,
                                        int64_t ld_tmp) {
    chunk_forward(p, T, n_valid, q, k, v, ld, r, ld_r, mem, ld_mem, tmp, ld_tmp);
}

void MEM_FN(mem_manifold_chunk_backward)(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                         const mem_real *k, const mem_real *v, int64_t ld, const mem_real *mem,
                                         int64_t ld_mem, const mem_real *dr, int64_t ld_dr, mem_real *g_mem,
                                         mem_real *du, mem_real *dk_pre, mem_real *dv_pre, int64_t ld_d,
                                         mem_real *tmp, int64_t ld_tmp, mem_real *work, mem_real *d_gamma) {
    chunk_backward(p, T, n_valid, q, k, v, ld, mem, ld_mem, dr, ld_dr, g_mem, du, dk_pre, dv_pre, ld_d, tmp, ld_tmp,
                   work, d_gamma);
}
