/* AVX2 kernels of the assignment solver: four columns per step, each lane keeping the running
 * minimum (and the lowest index reaching it) of the columns it sees; the lanes are merged by
 * (value, index), which gives exactly the scalar kernels' answers (lsa_kernels.h). */
#include "lsa_kernels.h"

#if MEM_LSA_HAVE_AVX2
#include <immintrin.h>
#include <math.h>

static inline __m256d as_pd(__m256i x) { return _mm256_castsi256_pd(x); }
static inline __m256i as_si(__m256d x) { return _mm256_castpd_si256(x); }

/* (a, ia) before (b, ib): smaller value, then lower index. Infinite values carry index -1. */
static inline int lex_less(double a, int64_t ia, double b, int64_t ib) {
    return a < b || (a == b && ia < ib);
}

double mem_lsa_relax_avx2(const double *row, const double *v, double u, double *d, int64_t *pred,
                          int64_t i, int64_t n, int64_t *jmin, int64_t *count) {
    const __m256d uu = _mm256_set1_pd(u);
    const __m256i ii = _mm256_set1_epi64x(i);
    const __m256i four = _mm256_set1_epi64x(4);
    __m256i jj = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256d m = _mm256_set1_pd(INFINITY);
    __m256i mi = _mm256_set1_epi64x(-1);
    __m256i cnt = _mm256_setzero_si256();
    const __m256i one = _mm256_set1_epi64x(1);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d h = _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(v + j)), uu);
        __m256d dd = _mm256_loadu_pd(d + j);
        __m256d lt = _mm256_cmp_pd(h, dd, _CMP_LT_OQ);
        if (_mm256_movemask_pd(lt)) {
            dd = _mm256_blendv_pd(dd, h, lt);
            _mm256_storeu_pd(d + j, dd);
            __m256i p = _mm256_loadu_si256((const __m256i *)(pred + j));
            p = as_si(_mm256_blendv_pd(as_pd(p), as_pd(ii), lt));
            _mm256_storeu_si256((__m256i *)(pred + j), p);
        }
        __m256d lm = _mm256_cmp_pd(dd, m, _CMP_LT_OQ);
        __m256d eq = _mm256_cmp_pd(dd, m, _CMP_EQ_OQ);
        m = _mm256_blendv_pd(m, dd, lm);
        mi = as_si(_mm256_blendv_pd(as_pd(mi), as_pd(jj), lm));
        cnt = _mm256_sub_epi64(cnt, as_si(eq)); /* eq lanes are all ones = -1 */
        cnt = as_si(_mm256_blendv_pd(as_pd(cnt), as_pd(one), lm));
        jj = _mm256_add_epi64(jj, four);
    }
    double ml[4];
    int64_t il[4], cl[4];
    _mm256_storeu_pd(ml, m);
    _mm256_storeu_si256((__m256i *)il, mi);
    _mm256_storeu_si256((__m256i *)cl, cnt);
    double best = ml[0];
    int64_t bi = il[0], bc = 0;
    for (int l = 1; l < 4; l++)
        if (lex_less(ml[l], il[l], best, bi)) {
            best = ml[l];
            bi = il[l];
        }
    for (int l = 0; l < 4; l++)
        if (ml[l] == best) bc += cl[l];
    for (; j < n; j++) {
        double h = (row[j] - v[j]) - u;
        double dj = d[j];
        if (h < dj) {
            dj = h;
            d[j] = h;
            pred[j] = i;
        }
        if (dj < best) {
            best = dj;
            bi = j;
            bc = 1;
        } else if (dj == best) {
            bc++;
        }
    }
    *jmin = bi;
    *count = bc;
    return best;
}

void mem_lsa_top2_avx2(const double *row, const double *v, int64_t n, mem_lsa_top2 *out) {
    const __m256i four = _mm256_set1_epi64x(4);
    __m256i jj = _mm256_setr_epi64x(0, 1, 2, 3);
    __m256d m1 = _mm256_set1_pd(INFINITY), m2 = m1;
    __m256i i1 = _mm256_set1_epi64x(-1), i2 = i1;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d h = _mm256_sub_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(v + j));
        __m256d lt1 = _mm256_cmp_pd(h, m1, _CMP_LT_OQ);
        __m256d lt2 = _mm256_cmp_pd(h, m2, _CMP_LT_OQ);
        /* second <- first where h beats the first, else h where h beats the second */
        __m256d nm2 = _mm256_blendv_pd(_mm256_blendv_pd(m2, h, lt2), m1, lt1);
        __m256i ni2 = as_si(_mm256_blendv_pd(_mm256_blendv_pd(as_pd(i2), as_pd(jj), lt2), as_pd(i1), lt1));
        m1 = _mm256_blendv_pd(m1, h, lt1);
        i1 = as_si(_mm256_blendv_pd(as_pd(i1), as_pd(jj), lt1));
        m2 = nm2;
        i2 = ni2;
        jj = _mm256_add_epi64(jj, four);
    }
    double a1[4], a2[4];
    int64_t b1[4], b2[4];
    _mm256_storeu_pd(a1, m1);
    _mm256_storeu_pd(a2, m2);
    _mm256_storeu_si256((__m256i *)b1, i1);
    _mm256_storeu_si256((__m256i *)b2, i2);
    int lane = 0;
    for (int l = 1; l < 4; l++)
        if (lex_less(a1[l], b1[l], a1[lane], b1[lane])) lane = l;
    mem_lsa_top2 t = {a1[lane], a2[lane], b1[lane], b2[lane]};
    for (int l = 0; l < 4; l++)
        if (l != lane && lex_less(a1[l], b1[l], t.u2, t.j2)) {
            t.u2 = a1[l];
            t.j2 = b1[l];
        }
    for (; j < n; j++) mem_lsa_top2_push(&t, row[j] - v[j], j);
    *out = t;
}
#endif
