/* Scalar kernels of the assignment solver and the once-per-process choice of kernel set. */
#include "lsa_kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

double mem_lsa_relax_scalar(const double *row, const double *v, double u, double *d, int64_t *pred,
                            int64_t i, int64_t n, int64_t *jmin, int64_t *count) {
    double m = INFINITY;
    int64_t jm = -1, cnt = 0;
    for (int64_t j = 0; j < n; j++) {
        double h = (row[j] - v[j]) - u;
        double dj = d[j];
        if (h < dj) { /* false for a labelled column (NaN) */
            dj = h;
            d[j] = h;
            pred[j] = i;
        }
        if (dj < m) {
            m = dj;
            jm = j;
            cnt = 1;
        } else if (dj == m) {
            cnt++;
        }
    }
    *jmin = jm;
    *count = cnt;
    return m;
}

void mem_lsa_top2_scalar(const double *row, const double *v, int64_t n, mem_lsa_top2 *out) {
    mem_lsa_top2 t = {INFINITY, INFINITY, -1, -1};
    for (int64_t j = 0; j < n; j++) mem_lsa_top2_push(&t, row[j] - v[j], j);
    *out = t;
}

static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;
static mem_lsa_kernels kernels;

static void kernels_init(void) {
    const char *env = getenv("MEMNATIVE_SIMD");
    int force_scalar = env != NULL && strcmp(env, "scalar") == 0;
    kernels.relax = mem_lsa_relax_scalar;
    kernels.top2 = mem_lsa_top2_scalar;
#if MEM_LSA_HAVE_AVX2
    __builtin_cpu_init();
    if (!force_scalar && __builtin_cpu_supports("avx2")) {
        kernels.relax = mem_lsa_relax_avx2;
        kernels.top2 = mem_lsa_top2_avx2;
    }
#else
    (void)force_scalar;
#endif
}

const mem_lsa_kernels *mem_lsa_kernels_get(void) {
    pthread_once(&kernels_once, kernels_init);
    return &kernels;
}
