/* The chunked manifold (memory/manifold_chunk.c) against the step-by-step recurrence it replaces, in
 * double: reads, the final manifold, and every gradient (du, dk_pre, dv_pre, dγ, the initial
 * manifold's), for windows shorter and longer than a chunk, not multiples of it, with held suffixes
 * (including a lane that holds throughout), and for sizes on and off the kernels' vector blocks. */
#define MEM_GENERIC_SOURCE
#define MEM_REAL_DOUBLE
#include <string.h>

#include "memory/manifold.h"
#include "test_util.h"
#include "testing.h"

static double uniform(test_rng *r, double lo, double hi) { return test_range(r, lo, hi); }

/* Reference forward: r_t = 𝓜_{t-1}ᵀ q_t, then 𝓜_t = γ 𝓜_{t-1} + (1 - γ) k_t v_tᵀ for t < n_valid.
 * hist holds 𝓜 before each step (T + 1 matrices). */
static void reference_forward(int64_t M, int64_t H, double g, int64_t T, int64_t nv, const double *q,
                              const double *k, const double *v, int64_t ld, const double *mem0, double *r,
                              double *hist) {
    memcpy(hist, mem0, (size_t)(M * H) * sizeof *hist);
    for (int64_t t = 0; t < T; t++) {
        const double *prev = hist + t * M * H;
        double *next = hist + (t + 1) * M * H;
        for (int64_t j = 0; j < H; j++) {
            double s = 0;
            for (int64_t i = 0; i < M; i++) s += prev[i * H + j] * q[t * ld + i];
            r[t * H + j] = s;
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < H; j++)
                next[i * H + j] = t < nv ? g * prev[i * H + j] + (1 - g) * k[t * ld + i] * v[t * ld + j]
                                         : prev[i * H + j];
    }
}

/* Reference backward of the same, from dr and G (gradient wrt 𝓜_T, replaced by that wrt 𝓜_0). */
static void reference_backward(int64_t M, int64_t H, double g, int64_t T, int64_t nv, const double *q,
                               const double *k, const double *v, int64_t ld, const double *hist, const double *dr,
                               double *G, double *du, double *dk, double *dv, double *d_gamma) {
    for (int64_t t = T - 1; t >= 0; t--) {
        const double *prev = hist + t * M * H;
        const double *qt = q + t * ld, *kt = k + t * ld, *vt = v + t * ld, *drt = dr + t * H;
        for (int64_t i = 0; i < M; i++) dk[t * M + i] = 0;
        for (int64_t j = 0; j < H; j++) dv[t * H + j] = 0;
        if (t < nv) { /* the write: 𝓜_t = γ 𝓜_{t-1} + (1 - γ) k vᵀ */
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < H; j++) {
                    const double gij = G[i * H + j];
                    dk[t * M + i] += (1 - g) * gij * vt[j];
                    dv[t * H + j] += (1 - g) * gij * kt[i];
                    *d_gamma += gij * (prev[i * H + j] - kt[i] * vt[j]);
                    G[i * H + j] = g * gij;
                }
            for (int64_t i = 0; i < M; i++) dk[t * M + i] *= kt[i] * (1 - kt[i]);
            for (int64_t j = 0; j < H; j++) dv[t * H + j] *= 1 - vt[j] * vt[j];
        }
        /* the read of 𝓜_{t-1} */
        double dot = 0;
        for (int64_t i = 0; i < M; i++) {
            double dq = 0;
            for (int64_t j = 0; j < H; j++) {
                dq += prev[i * H + j] * drt[j];
                G[i * H + j] += qt[i] * drt[j];
            }
            du[t * M + i] = dq;
            dot += qt[i] * dq;
        }
        for (int64_t i = 0; i < M; i++) du[t * M + i] = qt[i] * (du[t * M + i] - dot);
    }
}

static double max_rel(const double *a, const double *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return den > 0 ? num / den : num;
}

static void run_case(int64_t M, int64_t H, int64_t T, int64_t nv, double gamma, uint64_t seed) {
    test_rng rng = {seed};
    const int64_t ld = 2 * M + H + 3; /* records q | k | v | padding, like a cell's cache rows */
    double *rec = calloc((size_t)(T * ld), sizeof *rec);
    double *q = rec, *k = rec + M, *v = rec + 2 * M;
    for (int64_t t = 0; t < T; t++) {
        double sum = 0;
        for (int64_t i = 0; i < M; i++) sum += q[t * ld + i] = exp(uniform(&rng, -2, 2));
        for (int64_t i = 0; i < M; i++) q[t * ld + i] /= sum;
        for (int64_t i = 0; i < M; i++) k[t * ld + i] = t < nv ? 1 / (1 + exp(-uniform(&rng, -3, 3))) : 0;
        for (int64_t j = 0; j < H; j++) v[t * ld + j] = t < nv ? tanh(uniform(&rng, -2, 2)) : 0;
    }
    const int64_t MH = M * H;
    double *mem0 = malloc((size_t)MH * sizeof *mem0), *hist = malloc((size_t)((T + 1) * MH) * sizeof *hist);
    for (int64_t e = 0; e < MH; e++) mem0[e] = uniform(&rng, -1, 1);
    double *r_ref = malloc((size_t)(T * H) * sizeof *r_ref);
    reference_forward(M, H, gamma, T, nv, q, k, v, ld, mem0, r_ref, hist);

    mem_manifold mf = {0};
    mf.M = M;
    mf.H = H;
    MEM_FN(mem_manifold_set_gamma)(&mf, log(gamma / (1 - gamma)));
    /* 𝓜 slots at stride ld_mem (t = 0..T), r into its own rows, scratch rows of H */
    const int64_t ld_mem = MH + 5;
    double *mem = calloc((size_t)((T + 1) * ld_mem), sizeof *mem), *r = calloc((size_t)(T * H), sizeof *r);
    double *tmp = calloc((size_t)(T * (H + 1)), sizeof *tmp);
    memcpy(mem, mem0, (size_t)MH * sizeof *mem);
    MEM_FN(mem_manifold_chunk_forward)(&mf, T, nv, q, k, v, ld, r, H, mem, ld_mem, tmp, H + 1);
    const double err_r = max_rel(r, r_ref, T * H), err_m = max_rel(mem + T * ld_mem, hist + T * MH, MH);
    CHECK_MSG(err_r <= 1e-12 && err_m <= 1e-12, "forward M=%lld H=%lld T=%lld nv=%lld: r %.2e, final %.2e",
              (long long)M, (long long)H, (long long)T, (long long)nv, err_r, err_m);

    double *dr = malloc((size_t)(T * H) * sizeof *dr), *G_ref = malloc((size_t)MH * sizeof *G_ref);
    double *G = malloc((size_t)MH * sizeof *G);
    for (int64_t i = 0; i < T * H; i++) dr[i] = uniform(&rng, -1, 1);
    for (int64_t e = 0; e < MH; e++) G[e] = G_ref[e] = uniform(&rng, -1, 1);
    double *du_ref = calloc((size_t)(T * M), sizeof *du_ref), *dk_ref = calloc((size_t)(T * M), sizeof *dk_ref);
    double *dv_ref = calloc((size_t)(T * H), sizeof *dv_ref), dg_ref = 0;
    reference_backward(M, H, gamma, T, nv, q, k, v, ld, hist, dr, G_ref, du_ref, dk_ref, dv_ref, &dg_ref);

    const int64_t ld_d = 2 * M + H + 1; /* du | dk | dv per row, like a cell's scratch */
    double *d = calloc((size_t)(T * ld_d), sizeof *d);
    double *work = calloc((size_t)mem_manifold_chunk_work(M, H), sizeof *work);
    double dg = 0;
    MEM_FN(mem_manifold_chunk_backward)(&mf, T, nv, q, k, v, ld, mem, ld_mem, dr, H, G, d, d + M, d + 2 * M, ld_d,
                                        tmp, H + 1, work, &dg);
    double *du = malloc((size_t)(T * M) * sizeof *du), *dk = malloc((size_t)(T * M) * sizeof *dk);
    double *dv = malloc((size_t)(T * H) * sizeof *dv);
    for (int64_t t = 0; t < T; t++) {
        memcpy(du + t * M, d + t * ld_d, (size_t)M * sizeof *du);
        memcpy(dk + t * M, d + t * ld_d + M, (size_t)M * sizeof *dk);
        memcpy(dv + t * H, d + t * ld_d + 2 * M, (size_t)H * sizeof *dv);
    }
    const double e_du = max_rel(du, du_ref, T * M), e_dk = max_rel(dk, dk_ref, T * M);
    const double e_dv = max_rel(dv, dv_ref, T * H), e_G = max_rel(G, G_ref, MH);
    const double e_dg = fabs(dg - dg_ref) / fmax(fabs(dg_ref), 1e-300);
    CHECK_MSG(e_du <= 1e-11 && e_dk <= 1e-11 && e_dv <= 1e-11 && e_G <= 1e-11 && (nv == 0 ? dg == 0 : e_dg <= 1e-10),
              "backward M=%lld H=%lld T=%lld nv=%lld: du %.2e dk %.2e dv %.2e dM0 %.2e dgamma %.2e", (long long)M,
              (long long)H, (long long)T, (long long)nv, e_du, e_dk, e_dv, e_G, e_dg);
    for (int64_t t = nv; t < T; t++)
        for (int64_t i = 0; i < M; i++) CHECK(dk[t * M + i] == 0);

    free(rec), free(mem0), free(hist), free(r_ref), free(mem), free(r), free(tmp), free(dr), free(G_ref), free(G);
    free(du_ref), free(dk_ref), free(dv_ref), free(d), free(work), free(du), free(dk), free(dv);
}

int main(void) {
    const int64_t sizes[][2] = {{5, 7}, {64, 32}, {17, 9}};
    const int64_t windows[][2] = {{1, 1}, {16, 16}, {37, 37}, {37, 0}, {37, 20}, {40, 33}, {7, 3}};
    uint64_t seed = 11;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++)
            run_case(sizes[s][0], sizes[s][1], windows[w][0], windows[w][1], s == 1 ? 0.995 : 0.8, seed++);
    TEST_MAIN_END();
}
