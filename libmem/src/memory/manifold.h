/* The associative-memory manifold (spec/cells.md, "Manifold"), shared by every cell that has one
 * (AMN, DTPN, Hyper-AMN, SGW-AMN). State 𝓜 ∈ R^{M×H}, row-major. Each step reads the previous
 * manifold, then writes:
 *
 *   q = softmax(Q q_src) ∈ R^M,   r = 𝓜_{t-1}ᵀ q ∈ R^H                       (read)
 *   k = σ(K w_src) ∈ R^M,  v = tanh(V w_src) ∈ R^H,
 *   𝓜_t = γ 𝓜_{t-1} + (1 - γ) k vᵀ                                          (write)
 *
 * Q, K: (M, H); V: (H, H); γ = σ(γ̂) one scalar. The write is an exponential moving average of
 * outer products of vectors bounded by 1, so |𝓜_ij| ≤ 1 and |r_i| ≤ 1 whatever γ.
 *
 * The step functions work on one lane and one step; a cell calls them inside its lane-block loop
 * and keeps q, k, v (and r if it needs it) in its forward cache. A cell whose recurrence does not
 * read the manifold (AMN) runs a whole window per lane in the chunked form instead. Gradients wrt
 * Q, K and V are sums of outer products over every (step, lane): the per-step backward only writes
 * the pre-activation gradients (du, dk_pre, dv_pre), and mem_manifold_param_grads turns a window's
 * worth of them into three GEMMs — cheaper than per-step outer products, and deterministic for any
 * thread count.
 *
 * Generic: compiled twice (float, double); include from a MEM_GENERIC_SOURCE file. */
#ifndef MEM_MEMORY_MANIFOLD_H
#define MEM_MEMORY_MANIFOLD_H

#include <stdint.h>

/* Mean |𝓜| over n entries of a stored (float) manifold: the `manifold_energy` diagnostic. */
double mem_manifold_energy(const float *memory, int64_t n);

#ifdef MEM_GENERIC_SOURCE
#include "core/dense.h"
#include "core/real.h"

#define mem_manifold MEM_FN(mem_manifold)

/* One manifold's parameters, resolved once per window. */
typedef struct mem_manifold {
    int64_t M, H;
    const mem_real *Q, *K, *V;
    mem_real gamma, one_minus_gamma; /* σ(γ̂) and σ(-γ̂): 1 - γ without cancellation near γ = 1 */
} mem_manifold;

/* γ from its logit. */
void MEM_FN(mem_manifold_set_gamma)(mem_manifold *p, mem_real gamma_logit);

/* Read: q (M) = softmax(Q q_src), r (H) = memᵀ q. q_src has H entries. */
void MEM_FN(mem_manifold_read)(const mem_manifold *p, const mem_real *q_src, const mem_real *mem, mem_real *q,
                               mem_real *r);
/* Write: k (M), v (H) from w_src (H); mem_next = γ mem_prev + (1 - γ) k vᵀ (no aliasing). */
void MEM_FN(mem_manifold_write)(const mem_manifold *p, const mem_real *w_src, const mem_real *mem_prev,
                                mem_real *mem_next, mem_real *k, mem_real *v);

/* For a caller that forms the parameter products of many steps or lanes at once (GEMMs, AMN): q
 * holds the logits Q q_src, k = K w_src, v = V w_src; in place: q = softmax(q), k = σ(k),
 * v = tanh(v). */
void MEM_FN(mem_manifold_activate)(const mem_manifold *p, mem_real *q, mem_real *k, mem_real *v);

/* Backward of a read alone (of a manifold that is not written in this step): from dr (H) adds
 * q drᵀ to g_mem (M x H), writes du (M, the gradient wrt the softmax logits Q q_src) and
 * d_q_src (H) = Qᵀ du. */
void MEM_FN(mem_manifold_read_backward)(const mem_manifold *p, const mem_real *mem, const mem_real *q,
                                        const mem_real *dr, mem_real *g_mem, mem_real *du, mem_real *d_q_src);

/* Backward of a read of mem_prev followed by a write, in one pass over the M x H entries.
 * g_mem: in = gradient wrt 𝓜_t, out = gradient wrt 𝓜_{t-1}. dr: gradient wrt r. Writes du (M),
 * dk_pre (M, wrt K w_src), dv_pre (H, wrt V w_src), d_q_src (H) and d_w_src (H); adds the
 * gradient wrt γ (not its logit) to *d_gamma. */
void MEM_FN(mem_manifold_step_backward)(const mem_manifold *p, const mem_real *mem_prev, const mem_real *q,
                                        const mem_real *k, const mem_real *v, const mem_real *dr, mem_real *g_mem,
                                        mem_real *du, mem_real *dk_pre, mem_real *dv_pre, mem_real *d_q_src,
                                        mem_real *d_w_src, mem_real *d_gamma);

/* The chunked form of one lane's manifold over a window of T steps (manifold_chunk.c), for a cell
 * whose query and write sources do not depend on the read: the first n_valid steps write, the rest
 * hold (no decay, no write). q (softmax weights, M), k (σ(K w_src), M) and v (tanh(V w_src), H) are
 * rows with stride ld; k and v are zero on held steps. 𝓜 after t steps lives at mem + t·ld_mem
 * (t = 0: the initial manifold): the forward writes it at every chunk end (t = 16, 32, ..., T) and
 * no other t; the backward reads it at the chunk starts. Forward writes the reads r (H, stride
 * ld_r); tmp is T rows of H (stride ld_tmp) of scratch. Backward takes dr (gradient wrt r), turns
 * g_mem from the gradient wrt 𝓜_T into the gradient wrt 𝓜_0, writes du, dk_pre, dv_pre (stride
 * ld_d; zero dk_pre and dv_pre on held steps) and adds the gradient wrt γ to *d_gamma; work holds
 * mem_manifold_chunk_work(M, H) reals. */
#define MEM_MANIFOLD_CHUNK 16
void MEM_FN(mem_manifold_chunk_forward)(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                        const mem_real *k, const mem_real *v, int64_t ld, mem_real *r,
                                        int64_t ld_r, mem_real *mem, int64_t ld_mem, mem_real *tmp,
                                        int64_t ld_tmp);
void MEM_FN(mem_manifold_chunk_backward)(const mem_manifold *p, int64_t T, int64_t n_valid, const mem_real *q,
                                         const mem_real *k, const mem_real *v, int64_t ld, const mem_real *mem,
                                         int64_t ld_mem, const mem_real *dr, int64_t ld_dr, mem_real *g_mem,
                                         mem_real *du, mem_real *dk_pre, mem_real *dv_pre, int64_t ld_d,
                                         mem_real *tmp, int64_t ld_tmp, mem_real *work, mem_real *d_gamma);
/* Reals of the backward's work buffer. */
static inline int64_t mem_manifold_chunk_work(int64_t M, int64_t H) { return (M + H) * MEM_MANIFOLD_CHUNK; }

/* Window gradients of Q, K and V: over `rows` (step, lane) records, gQ += DUᵀ QSRC,
 * gK += DKᵀ WSRC, gV += DVᵀ WSRC. Each matrix argument is `rows` rows with its own row stride
 * (ld_*); rows whose gradients are zero (held lanes) simply add nothing. */
void MEM_FN(mem_manifold_param_grads)(const mem_manifold *p, int64_t rows, const mem_real *du, int64_t ld_du,
                                      const mem_real *q_src, int64_t ld_q, const mem_real *dk_pre, int64_t ld_dk,
                                      const mem_real *dv_pre, int64_t ld_dv, const mem_real *w_src, int64_t ld_w,
                                      mem_real *gQ, mem_real *gK, mem_real *gV, int n_threads);
#endif

#endif
