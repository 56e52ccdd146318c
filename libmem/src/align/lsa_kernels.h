/* Inner loops of the linear assignment solver (hungarian.c): a portable scalar version and an
 * AVX2 version (lsa_kernels_avx2.c, compiled with -mavx2, used after a run-time CPU check).
 *
 * Both versions give the same bits: every element goes through the same operations
 * ((row[j] - v[j]) - u, no FMA), and ties are broken by a canonical rule (the lowest column index)
 * that the vector lanes reproduce when they are merged. MEMNATIVE_SIMD=scalar forces the scalar
 * version, as for the GEMM. */
#ifndef MEM_ALIGN_LSA_KERNELS_H
#define MEM_ALIGN_LSA_KERNELS_H

#include <stdint.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define MEM_LSA_HAVE_AVX2 1
#else
#define MEM_LSA_HAVE_AVX2 0
#endif

/* The two smallest reduced costs row[j] - v[j] of a row. u1 is the minimum at j1 (lowest index
 * among equals); u2 is the minimum over j != j1 at j2 (lowest index among equals), so u2 == u1
 * on a tie. An infinite value counts as absent: j1 (j2) is -1 and u1 (u2) is +inf when no
 * (no second) finite value exists. */
typedef struct mem_lsa_top2 {
    double u1, u2;
    int64_t j1, j2;
} mem_lsa_top2;

/* One Dijkstra relaxation from row i: for every column j whose d[j] is not NaN (NaN marks a column
 * already labelled), h = (row[j] - v[j]) - u; where h < d[j], d[j] = h and pred[j] = i. Then
 * reports the minimum of the unlabelled d (its lowest index in *jmin, -1 when every d is +inf or
 * NaN) and in *count how many unlabelled columns hold exactly that minimum. Returns the minimum. */
typedef double (*mem_lsa_relax_fn)(const double *row, const double *v, double u, double *d,
                                   int64_t *pred, int64_t i, int64_t n, int64_t *jmin,
                                   int64_t *count);
typedef void (*mem_lsa_top2_fn)(const double *row, const double *v, int64_t n, mem_lsa_top2 *out);

typedef struct mem_lsa_kernels {
    mem_lsa_relax_fn relax;
    mem_lsa_top2_fn top2;
} mem_lsa_kernels;

/* The kernels for this process (AVX2 when the CPU has it and MEMNATIVE_SIMD is not "scalar"). */
const mem_lsa_kernels *mem_lsa_kernels_get(void);

double mem_lsa_relax_scalar(const double *row, const double *v, double u, double *d, int64_t *pred,
                            int64_t i, int64_t n, int64_t *jmin, int64_t *count);
void mem_lsa_top2_scalar(const double *row, const double *v, int64_t n, mem_lsa_top2 *out);

#if MEM_LSA_HAVE_AVX2
double mem_lsa_relax_avx2(const double *row, const double *v, double u, double *d, int64_t *pred,
                          int64_t i, int64_t n, int64_t *jmin, int64_t *count);
void mem_lsa_top2_avx2(const double *row, const double *v, int64_t n, mem_lsa_top2 *out);
#endif

/* Scalar continuation shared by both versions: folds column j's value h into a running top-2. */
static inline void mem_lsa_top2_push(mem_lsa_top2 *t, double h, int64_t j) {
    if (h < t->u1) {
        t->u2 = t->u1;
        t->j2 = t->j1;
        t->u1 = h;
        t->j1 = j;
    } else if (h < t->u2) {
        t->u2 = h;
        t->j2 = j;
    }
}

#endif
