/* Alignment tests: the linear assignment solver against brute force on small problems (square,
 * rectangular, ties, forbidden pairs, maximize, infeasible, degenerate shapes), its AVX2 and scalar
 * kernels against each other, and (similarity.c) CKA and RSA against double-precision references.
 * ctest runs this twice: as is and with MEMNATIVE_SIMD=scalar. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/lsa_kernels.h"
#include "libmem/libmem.h"
#include "test_util.h"
#include "testing.h"

/* ---- brute force ------------------------------------------------------------------------------ */

/* Best total over injective maps of the r rows into the c columns (r <= c) of a (r x c) matrix with
 * row stride ld (sign -1: maximize). +inf (after the sign) is forbidden; returns +inf if infeasible. */
static double brute(const double *a, int r, int c, int ld, int trans, double sign, int row, int used) {
    if (row == r) return 0.0;
    double best = INFINITY;
    for (int j = 0; j < c; j++) {
        if (used & (1 << j)) continue;
        double x = sign * (trans ? a[j * ld + row] : a[row * ld + j]);
        if (x == INFINITY) continue;
        double rest = brute(a, r, c, ld, trans, sign, row + 1, used | (1 << j));
        if (x + rest < best) best = x + rest;
    }
    return best;
}

static double brute_opt(const double *a, int nr, int nc, int maximize) {
    double sign = maximize ? -1.0 : 1.0;
    double b = nr <= nc ? brute(a, nr, nc, nc, 0, sign, 0, 0) : brute(a, nc, nr, nc, 1, sign, 0, 0);
    return sign * b;
}

/* Checks the solver's answer: sizes, sorted rows, distinct columns, no forbidden pair, and the
 * total equal to brute force. Returns 1 when infeasible was reported. */
static int check_problem(const double *a, int nr, int nc, int maximize, const char *what) {
    int64_t ri[16], ci[16];
    int k = nr < nc ? nr : nc;
    double want = brute_opt(a, nr, nc, maximize);
    mem_status st = mem_linear_sum_assignment(a, nr, nc, maximize, ri, ci, 16);
    if (!isfinite(want)) {
        CHECK_MSG(st == MEM_ERR_INFEASIBLE, "%s %dx%d: want infeasible, got %s", what, nr, nc,
                  mem_status_name(st));
        if (st == MEM_ERR_INFEASIBLE) CHECK(strstr(mem_last_error(), "cost matrix is infeasible"));
        return 1;
    }
    CHECK_MSG(st == MEM_OK, "%s %dx%d max=%d: %s %s", what, nr, nc, maximize, mem_status_name(st),
              mem_last_error());
    if (st != MEM_OK) return 0;
    double total = 0.0;
    int cols_used = 0, ok = 1;
    for (int q = 0; q < k; q++) {
        if (ri[q] < 0 || ri[q] >= nr || ci[q] < 0 || ci[q] >= nc) { ok = 0; break; }
        if (q > 0 && ri[q] <= ri[q - 1]) ok = 0;
        if (cols_used & (1 << ci[q])) ok = 0;
        cols_used |= 1 << ci[q];
        double x = a[ri[q] * nc + ci[q]];
        if (isinf(x)) ok = 0;
        total += x;
    }
    CHECK_MSG(ok, "%s %dx%d: invalid assignment", what, nr, nc);
    CHECK_MSG(fabs(total - want) <= 1e-9 * (1.0 + fabs(want)), "%s %dx%d max=%d: total %.17g, optimum %.17g",
              what, nr, nc, maximize, total, want);
    return 0;
}

static void fill_problem(test_rng *r, double *a, int len, int kind, double p_forbid, int maximize) {
    for (int q = 0; q < len; q++) {
        double u = test_uniform(r);
        a[q] = kind == 0 ? test_range(r, -5.0, 5.0) : kind == 1 ? floor(u * 4.0) : floor(u * 1000.0) * 1e6;
        if (test_uniform(r) < p_forbid) a[q] = maximize ? -INFINITY : INFINITY;
    }
}

static void test_random_small(void) {
    test_rng r = {12345};
    double a[64];
    int n_infeasible = 0, n_total = 0;
    for (int rep = 0; rep < 1500; rep++) {
        int nr = 1 + (int)(test_uniform(&r) * 7), nc = 1 + (int)(test_uniform(&r) * 7);
        if (rep % 3 == 0) nc = nr; /* a third square */
        int kind = rep % 3, maximize = (rep / 3) % 2;
        double p_forbid = (rep % 5 == 0) ? 0.0 : (rep % 5) * 0.12;
        fill_problem(&r, a, nr * nc, kind, p_forbid, maximize);
        n_infeasible += check_problem(a, nr, nc, maximize, "random");
        n_total++;
    }
    CHECK_MSG(n_infeasible > 20 && n_infeasible < n_total / 2, "infeasible share %d/%d", n_infeasible, n_total);
}

static void test_special(void) {
    int64_t ri[8], ci[8];
    /* constant matrix and an all-tie 7x7 */
    double ones[49];
    for (int q = 0; q < 49; q++) ones[q] = 1.0;
    check_problem(ones, 7, 7, 0, "constant");
    check_problem(ones, 3, 7, 1, "constant wide");
    check_problem(ones, 7, 2, 0, "constant tall");
    /* 1 x n and n x 1 */
    double row[5] = {3, 1, 4, 1, 5};
    CHECK_OK(mem_linear_sum_assignment(row, 1, 5, 0, ri, ci, 8));
    CHECK(ri[0] == 0 && row[ci[0]] == 1.0);
    CHECK_OK(mem_linear_sum_assignment(row, 5, 1, 1, ri, ci, 8));
    CHECK(ci[0] == 0 && ri[0] == 4);
    /* empty shapes succeed with no pairs and may pass NULL */
    CHECK_OK(mem_linear_sum_assignment(NULL, 0, 0, 0, NULL, NULL, 0));
    CHECK_OK(mem_linear_sum_assignment(NULL, 2, 0, 0, NULL, NULL, 0));
    CHECK_OK(mem_linear_sum_assignment(NULL, 0, 3, 1, NULL, NULL, 0));
    /* infeasible: a column of +inf, a row of +inf, Hall's condition violated */
    double inf = INFINITY;
    double col_inf[9] = {1, inf, 2, 3, inf, 4, 5, inf, 6};
    CHECK_STATUS(mem_linear_sum_assignment(col_inf, 3, 3, 0, ri, ci, 8), MEM_ERR_INFEASIBLE);
    double row_inf[6] = {inf, inf, inf, 1, 2, 3};
    CHECK_STATUS(mem_linear_sum_assignment(row_inf, 2, 3, 0, ri, ci, 8), MEM_ERR_INFEASIBLE);
    CHECK_OK(mem_linear_sum_assignment(row_inf, 3, 2, 0, ri, ci, 8)); /* tall: row 0 may stay unassigned */
    CHECK(ri[0] == 1 && ri[1] == 2);
    double hall[9] = {1, inf, inf, 2, inf, inf, 3, 4, 5};
    CHECK_STATUS(mem_linear_sum_assignment(hall, 3, 3, 0, ri, ci, 8), MEM_ERR_INFEASIBLE);
    /* maximize with -inf forbidden */
    double mx[4] = {-inf, 1, 2, -inf};
    CHECK_OK(mem_linear_sum_assignment(mx, 2, 2, 1, ri, ci, 8));
    CHECK(ci[0] == 1 && ci[1] == 0);
    /* huge magnitudes are scaled, not overflowed */
    double big[4] = {1e300, 1e308, 1e308, 1e300};
    CHECK_OK(mem_linear_sum_assignment(big, 2, 2, 0, ri, ci, 8));
    CHECK(ci[0] == 0 && ci[1] == 1);
    CHECK_OK(mem_linear_sum_assignment(big, 2, 2, 1, ri, ci, 8));
    CHECK(ci[0] == 1 && ci[1] == 0);
}

/* A larger problem with many ties must stay fast (the level batching) and valid. */
static void test_large_ties(void) {
    int n = 300;
    double *a = malloc(sizeof(double) * n * n);
    int64_t *ri = malloc(sizeof(int64_t) * n), *ci = malloc(sizeof(int64_t) * n);
    test_rng r = {99};
    for (int pass = 0; pass < 3; pass++) {
        for (int q = 0; q < n * n; q++) a[q] = pass == 0 ? 1.0 : pass == 1 ? floor(test_uniform(&r) * 3) : test_uniform(&r);
        CHECK_OK(mem_linear_sum_assignment(a, n, n, 0, ri, ci, n));
        char *seen = calloc(n, 1);
        int ok = 1;
        double total = 0;
        for (int i = 0; i < n; i++) {
            ok &= ri[i] == i && ci[i] >= 0 && ci[i] < n && !seen[ci[i]];
            if (ci[i] >= 0 && ci[i] < n) seen[ci[i]] = 1;
            total += a[i * n + ci[i]];
        }
        CHECK(ok);
        if (pass == 0) CHECK(total == n);
        if (pass == 1) CHECK(total == 0); /* a third of the entries are 0: a zero assignment exists w.h.p. */
        free(seen);
    }
    free(a);
    free(ri);
    free(ci);
}

/* The AVX2 kernels give the same bits as the scalar ones (ties, infinities, labelled columns). */
static void test_kernels_agree(void) {
#if MEM_LSA_HAVE_AVX2
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return;
    test_rng r = {7};
    enum { N = 67 };
    double row[N], v[N], d1[N], d2[N];
    int64_t p1[N], p2[N];
    for (int rep = 0; rep < 400; rep++) {
        int n = 1 + (int)(test_uniform(&r) * N);
        for (int j = 0; j < n; j++) {
            double u = test_uniform(&r);
            row[j] = rep % 2 ? floor(u * 3) : u;
            if (test_uniform(&r) < 0.1) row[j] = INFINITY;
            v[j] = rep % 4 < 2 ? 0.0 : floor(test_uniform(&r) * 2);
            d1[j] = test_uniform(&r) < 0.2 ? NAN : test_uniform(&r) < 0.3 ? INFINITY : floor(test_uniform(&r) * 4);
            d2[j] = d1[j];
            p1[j] = p2[j] = -7;
        }
        mem_lsa_top2 t1, t2;
        mem_lsa_top2_scalar(row, v, n, &t1);
        mem_lsa_top2_avx2(row, v, n, &t2);
        CHECK_MSG(t1.j1 == t2.j1 && t1.j2 == t2.j2 && memcmp(&t1.u1, &t2.u1, 8) == 0 && memcmp(&t1.u2, &t2.u2, 8) == 0,
                  "top2 rep %d n %d: (%g,%lld,%g,%lld) vs (%g,%lld,%g,%lld)", rep, n, t1.u1, (long long)t1.j1,
                  t1.u2, (long long)t1.j2, t2.u1, (long long)t2.j1, t2.u2, (long long)t2.j2);
        int64_t j1, j2, c1, c2;
        double m1 = mem_lsa_relax_scalar(row, v, 0.5, d1, p1, 3, n, &j1, &c1);
        double m2 = mem_lsa_relax_avx2(row, v, 0.5, d2, p2, 3, n, &j2, &c2);
        int same = memcmp(&m1, &m2, 8) == 0 && j1 == j2 && (!isfinite(m1) || c1 == c2);
        for (int j = 0; j < n; j++) same &= memcmp(d1 + j, d2 + j, 8) == 0 && p1[j] == p2[j];
        CHECK_MSG(same, "relax rep %d n %d: min %g@%lld x%lld vs %g@%lld x%lld", rep, n, m1, (long long)j1,
                  (long long)c1, m2, (long long)j2, (long long)c2);
    }
#endif
}

static void test_assignment_args(void) {
    double a[4] = {1, 2, 3, 4};
    int64_t ri[2], ci[2];
    CHECK_STATUS(mem_linear_sum_assignment(a, -1, 2, 0, ri, ci, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_linear_sum_assignment(a, 2, -2, 0, ri, ci, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_linear_sum_assignment(NULL, 2, 2, 0, ri, ci, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_linear_sum_assignment(a, 2, 2, 0, NULL, ci, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_linear_sum_assignment(a, 2, 2, 0, ri, NULL, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_linear_sum_assignment(a, 2, 2, 0, ri, ci, 1), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_linear_sum_assignment(a, INT64_MAX, 2, 0, ri, ci, 2), MEM_ERR_ARG);
    double bad[4] = {1, NAN, 3, 4};
    CHECK_STATUS(mem_linear_sum_assignment(bad, 2, 2, 0, ri, ci, 2), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "invalid numeric entries") && strstr(mem_last_error(), "[0, 1]"));
    bad[1] = -INFINITY;
    CHECK_STATUS(mem_linear_sum_assignment(bad, 2, 2, 0, ri, ci, 2), MEM_ERR_ARG);
    CHECK_OK(mem_linear_sum_assignment(bad, 2, 2, 1, ri, ci, 2));
    bad[1] = INFINITY;
    CHECK_STATUS(mem_linear_sum_assignment(bad, 2, 2, 1, ri, ci, 2), MEM_ERR_ARG);
}


/* ---- similarity ------------------------------------------------------------------------------- */

/* Linear CKA in double precision, feature-space form, straight loops. */
static double cka_ref(const float *x, const float *y, int n, int d1, int d2) {
    double *xc = malloc(sizeof(double) * n * d1), *yc = malloc(sizeof(double) * n * d2);
    for (int pass = 0; pass < 2; pass++) {
        const float *a = pass ? y : x;
        double *c = pass ? yc : xc;
        int d = pass ? d2 : d1;
        for (int j = 0; j < d; j++) {
            double m = 0;
            for (int i = 0; i < n; i++) m += a[i * d + j];
            m /= n;
            for (int i = 0; i < n; i++) c[i * d + j] = a[i * d + j] - m;
        }
    }
    double hxy = 0, hxx = 0, hyy = 0;
    for (int p = 0; p < d1; p++)
        for (int q = 0; q < d2; q++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += xc[i * d1 + p] * yc[i * d2 + q];
            hxy += s * s;
        }
    for (int p = 0; p < d1; p++)
        for (int q = 0; q < d1; q++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += xc[i * d1 + p] * xc[i * d1 + q];
            hxx += s * s;
        }
    for (int p = 0; p < d2; p++)
        for (int q = 0; q < d2; q++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += yc[i * d2 + p] * yc[i * d2 + q];
            hyy += s * s;
        }
    free(xc);
    free(yc);
    return hxy / sqrt(hxx * hyy);
}

static void test_cka(void) {
    test_rng r = {2024};
    const int shapes[][3] = {{40, 5, 3}, {300, 100, 60}, {30, 40, 20}, {600, 24, 16}};
    for (int s = 0; s < 4; s++) {
        int n = shapes[s][0], d1 = shapes[s][1], d2 = shapes[s][2];
        float *x = malloc(sizeof(float) * n * d1), *y = malloc(sizeof(float) * n * d2);
        test_fill(&r, x, (int64_t)n * d1, -1.0, 3.0);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d2; j++) y[i * d2 + j] = x[i * d1 + j % d1] * 0.5f + (float)test_range(&r, -1, 1);
        double v1, v2, vs, vx;
        CHECK_OK(mem_cka(x, y, n, d1, d2, MEM_CKA_LINEAR, 0, 1.0, 1, &v1));
        CHECK_OK(mem_cka(x, y, n, d1, d2, MEM_CKA_LINEAR, 0, 1.0, 2, &v2));
        CHECK_OK(mem_cka(y, x, n, d2, d1, MEM_CKA_LINEAR, 0, 1.0, 0, &vs));
        CHECK_OK(mem_cka(x, x, n, d1, d1, MEM_CKA_LINEAR, 0, 1.0, 0, &vx));
        double want = cka_ref(x, y, n, d1, d2);
        CHECK_MSG(fabs(v1 - want) < 1e-6, "cka %dx%d,%d: %.9f vs reference %.9f", n, d1, d2, v1, want);
        CHECK(memcmp(&v1, &v2, sizeof v1) == 0); /* same bits for any thread count */
        CHECK(fabs(vs - v1) < 1e-7 && fabs(vx - 1.0) < 1e-6 && v1 >= 0.0 && v1 <= 1.0);
        for (int k = 0; k < 2; k++)
            for (int db = 0; db < 2; db++) {
                double g, gx;
                CHECK_OK(mem_cka(x, y, n, d1, d2, k, db, 0.8, 0, &g));
                CHECK_OK(mem_cka(x, x, n, d1, d1, k, db, 0.8, 0, &gx));
                CHECK(g > -0.1 && g <= 1.0 && fabs(gx - 1.0) < 1e-6);
                if (k == 0 && db == 0) CHECK(fabs(g - v1) < 1e-6); /* Gram and feature forms agree */
            }
        free(x);
        free(y);
    }
}

static void test_rsa(void) {
    test_rng r = {77};
    int n = 30, d1 = 6, d2 = 4;
    float x[30 * 6], y[30 * 4];
    test_fill(&r, x, n * d1, -1, 1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d2; j++) y[i * d2 + j] = x[i * d1 + j] + 0.5f * (float)test_range(&r, -1, 1);
    /* reference: RDMs by straight loops in double, Pearson of the upper triangles */
    int len = n * (n - 1) / 2;
    double *a = malloc(sizeof(double) * len), *b = malloc(sizeof(double) * len);
    for (int pass = 0; pass < 2; pass++) {
        const float *m = pass ? y : x;
        int d = pass ? d2 : d1, q = 0;
        double *t = pass ? b : a;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) {
                double mi = 0, mj = 0, sij = 0, sii = 0, sjj = 0;
                for (int k = 0; k < d; k++) {
                    mi += m[i * d + k];
                    mj += m[j * d + k];
                }
                mi /= d;
                mj /= d;
                for (int k = 0; k < d; k++) {
                    double u = m[i * d + k] - mi, w = m[j * d + k] - mj;
                    sij += u * w;
                    sii += u * u;
                    sjj += w * w;
                }
                t[q++] = 1.0 - sij / sqrt(sii * sjj);
            }
    }
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int q = 0; q < len; q++) {
        ma += a[q] / len;
        mb += b[q] / len;
    }
    for (int q = 0; q < len; q++) {
        sab += (a[q] - ma) * (b[q] - mb);
        saa += (a[q] - ma) * (a[q] - ma);
        sbb += (b[q] - mb) * (b[q] - mb);
    }
    double want = sab / sqrt(saa * sbb), got, sp, self;
    CHECK_OK(mem_rsa(x, y, n, d1, d2, MEM_RSA_PEARSON, 0, &got));
    CHECK_MSG(fabs(got - want) < 1e-9, "rsa %.12f vs %.12f", got, want);
    CHECK_OK(mem_rsa(x, y, n, d1, d2, MEM_RSA_SPEARMAN, 0, &sp));
    CHECK(sp > 0.2 && sp <= 1.0);
    CHECK_OK(mem_rsa(x, x, n, d1, d1, MEM_RSA_SPEARMAN, 0, &self));
    CHECK(fabs(self - 1.0) < 1e-12);
    free(a);
    free(b);
}

/* Size of the axis tagged `tag` in the model's parameter table (0 when absent). */
static int64_t axis_size(mem_model *m, const char *tag) {
    for (int64_t i = 0; i < mem_model_param_count(m); i++) {
        const char *name, *axes[4];
        int ndim, perm[4], trainable;
        int64_t shape[4];
        mem_model_param_info(m, i, &name, &ndim, shape, axes, perm, &trainable);
        for (int k = 0; k < ndim; k++)
            if (strcmp(axes[k], tag) == 0) return shape[k];
    }
    return 0;
}

static double rel_diff(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)a[i] * a[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* mem_model_permute on every kind: predictions (streams from zero and continuing the memory)
 * unchanged up to rounding, training continues alike (moments and masks moved too), and the
 * inverse permutation restores every bit. mem_model_predict_states ends where predict does. */
static void test_permute_models(void) {
    const char *kinds[32];
    const int64_t n_kinds = mem_model_kinds(kinds, 32);
    enum { T = 48, I = 3, O = 2 };
    float x[T * I], y[T * O], p0[T * O], p1[T * O];
    test_rng r = {77};
    test_fill(&r, x, T * I, -1, 1);
    test_fill(&r, y, T * O, -1, 1);
    mem_data d = {MEM_LAYOUT_STREAM, MEM_TARGET_PER_STEP, x, y, NULL, 1, T};
    for (int64_t k = 0; k < n_kinds; k++) {
        const char *settings[] = {"hidden_size=5", "seed=3", NULL};
        mem_model *a = test_model(kinds[k], I, O, settings), *b = NULL, *c = NULL;
        CHECK(a != NULL);
        if (!a) continue;
        CHECK_OK(mem_model_train_epoch(a, &d, 0, NULL, NULL, NULL));
        CHECK_OK(mem_model_freeze_neuron(a, 1));
        CHECK_OK(mem_model_predict(a, &d, 1, p0, T * O)); /* memory now at the end of x */
        CHECK_OK(mem_model_clone(a, &b));
        CHECK_OK(mem_model_clone(a, &c));
        const char *tags[2] = {"H", "M"};
        int64_t perms[2][128];
        for (int t = 0; t < 2; t++) {
            const int64_t n = axis_size(a, tags[t]);
            if (n == 0 || n > 128) continue;
            for (int64_t i = 0; i < n; i++) perms[t][i] = i;
            for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
                int64_t j = (int64_t)(test_uniform(&r) * (double)(i + 1)), tmp = perms[t][i];
                perms[t][i] = perms[t][j];
                perms[t][j] = tmp;
            }
            CHECK_OK(mem_model_permute(b, tags[t], perms[t], n));
        }
        /* continuing the stored memory, then from zero */
        CHECK_OK(mem_model_predict(a, &d, 0, p0, T * O));
        CHECK_OK(mem_model_predict(b, &d, 0, p1, T * O));
        CHECK(rel_diff(p0, p1, T * O) <= 1e-5);
        CHECK_OK(mem_model_predict(a, &d, 1, p0, T * O));
        CHECK_OK(mem_model_predict(b, &d, 1, p1, T * O));
        CHECK(rel_diff(p0, p1, T * O) <= 1e-5);
        /* one more epoch each: the optimizer moments and freeze masks moved with the weights */
        CHECK_OK(mem_model_train_epoch(a, &d, 0, NULL, NULL, NULL));
        CHECK_OK(mem_model_train_epoch(b, &d, 0, NULL, NULL, NULL));
        CHECK(mem_model_frozen_count(a, NULL) == mem_model_frozen_count(b, NULL));
        CHECK_OK(mem_model_predict(a, &d, 1, p0, T * O));
        CHECK_OK(mem_model_predict(b, &d, 1, p1, T * O));
        CHECK(rel_diff(p0, p1, T * O) <= 1e-4);
        /* a permutation and its inverse give back c's weights bit for bit */
        mem_model_free(b);
        b = NULL;
        CHECK_OK(mem_model_clone(c, &b));
        for (int t = 0; t < 2 && b; t++)
            if (axis_size(a, tags[t]) > 0) CHECK_OK(mem_model_permute(b, tags[t], perms[t], axis_size(a, tags[t])));
        for (int t = 1; t >= 0 && b; t--) {
            const int64_t n = axis_size(a, tags[t]);
            if (n == 0 || n > 128) continue;
            int64_t inv[128];
            for (int64_t i = 0; i < n; i++) inv[perms[t][i]] = i;
            CHECK_OK(mem_model_permute(b, tags[t], inv, n));
        }
        const int64_t nw = mem_model_weight_count(a);
        float *wa = NULL, *wb = NULL;
        CHECK_OK(mem_model_param_data(c, 0, &wa));
        CHECK_OK(mem_model_param_data(b, 0, &wb));
        const int same = memcmp(wa, wb, (size_t)nw * sizeof(float)) == 0; /* one flat buffer */
        if (!same) fprintf(stderr, "%s: inverse permutation does not restore the weights\n", kinds[k]);
        CHECK(same);
        /* per-step states: the last row is the memory predict leaves */
        int64_t nb = 0;
        CHECK_OK(mem_model_state_size(c, &nb));
        const int64_t SD = nb / 4;
        float *states = malloc((size_t)(T * SD) * sizeof *states), *mem = malloc((size_t)nb);
        CHECK(states && mem);
        if (states && mem) {
            CHECK_OK(mem_model_predict_states(c, &d, 1, NULL, states, T * SD));
            CHECK_OK(mem_model_get_state(c, mem, nb));
            CHECK(memcmp(mem, states + (T - 1) * SD, (size_t)nb) == 0);
            CHECK_OK(mem_model_predict(c, &d, 1, p1, T * O));
            CHECK_OK(mem_model_get_state(c, states, nb));
            CHECK(rel_diff(mem, states, SD) <= 1e-5);
            const char *name, *axes[4];
            int64_t shape[4];
            int ndim;
            CHECK_OK(mem_model_state_info(c, 0, &name, &ndim, shape, axes)); /* the first, at offset 0 */
            int64_t size = 1;
            for (int q = 0; q < ndim; q++) size *= shape[q];
            CHECK_OK(mem_model_predict_states(c, &d, 1, name, states, T * size));
            CHECK(memcmp(mem, states + (T - 1) * size, (size_t)size * sizeof(float)) == 0);
        }
        free(states);
        free(mem);
        mem_model_free(a);
        mem_model_free(b);
        mem_model_free(c);
    }
}

int main(void) {
    test_random_small();
    test_special();
    test_large_ties();
    test_kernels_agree();
    test_assignment_args();
    test_cka();
    test_rsa();
    test_permute_models();
    TEST_MAIN_END();
}
