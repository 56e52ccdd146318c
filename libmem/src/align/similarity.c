/* Similarity of two representations of the same n inputs: CKA (Kornblith et al., ICML 2019) and
 * RSA (Kriegeskorte et al. 2008).
 *
 * Precision: inputs are float32; products are formed in float32 over blocks of rows (SIM_BLOCK
 * for the GEMM, MEM_SYRK_BLOCK for the syrk kernel; float accumulation inside a block) and the
 * block results are summed in float64, so the error stays near float32 rounding of single
 * products rather than growing with n. Everything
 * after the products (norms, centring of Gram matrices, ranks, correlations) is float64 in a fixed
 * order (RSA's dissimilarities are float64 from the start, see rdm). The GEMMs are deterministic
 * for any thread count, so the results are too.
 *
 * Inputs reach the products shifted by a sampled mean and scaled by a power of two (shift_input):
 * one pass over each input, and any finite magnitude works. Linear CKA uses the feature-space form
 * ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) on column-centred data (d^2 n work) when
 * d1 + d2 <= n, else the Gram form (n^2 d work). The three products come from the symmetric Z^T Z,
 * Z = [Xc | Yc], of which only the upper triangle is formed (kernels/syrk.h: the shifted data is
 * written straight into its packed layout, and the kernel centres exactly by the written columns'
 * means).
 * RBF and debiased CKA work on n x n Gram matrices: K_ij = exp(-|xi - xj|^2 / (2 sigma^2 med)),
 * med the median of all n^2 squared distances (Kornblith's convention, diagonal included), and the
 * debiased estimator replaces the centred Gram matrices by their U-centred versions (zero
 * diagonal; Székely & Rizzo 2014; Song et al. 2012), whose inner product is the unbiased HSIC. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/real.h"
#include "kernels/gemm.h"
#include "kernels/syrk.h"

#ifndef SIM_BLOCK
#define SIM_BLOCK 512 /* products summed in float before joining the float64 total */
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* acc (m x nn, float64, row-major) = op(A) op(B) with k split in SIM_BLOCK blocks: each block by
 * the float32 GEMM into tmp, then added to acc in block order. tmp holds m * nn floats. */
static void gemm_acc(int ta, int tb, int64_t m, int64_t nn, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, double *acc, int64_t ldacc, float *tmp, int nt) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < nn; j++) acc[i * ldacc + j] = 0.0;
    for (int64_t k0 = 0; k0 < k; k0 += SIM_BLOCK) {
        int64_t kc = min64(SIM_BLOCK, k - k0);
        const float *ab = ta ? a + k0 * lda : a + k0;
        const float *bb = tb ? b + k0 : b + k0 * ldb;
        mem_gemm_f32(ta, tb, m, nn, kc, 1.0f, ab, lda, bb, ldb, 0.0f, tmp, nn, nt);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) acc[i * ldacc + j] += (double)tmp[i * nn + j];
    }
}

/* Rows of an input averaged for its shift (see shift_input): evenly spaced over all n rows, so
 * that sorted or drifting inputs are sampled across their whole range. */
#define SHIFT_SAMPLE 64

/* shift[j] = the mean of column j of x (n x d) over SHIFT_SAMPLE evenly spaced rows (all rows
 * when n is smaller), rounded to float32; acc holds d doubles. */
static void sample_means(const float *x, int64_t n, int64_t d, double *acc, float *shift) {
    int64_t rows = n < SHIFT_SAMPLE ? n : SHIFT_SAMPLE;
    for (int64_t j = 0; j < d; j++) acc[j] = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * n / rows * d;
        for (int64_t j = 0; j < d; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < d; j++) shift[j] = (float)(acc[j] / (double)rows);
}

/* out = x * scale - shift * scale for the columns [j0, j1) of x (n x d), at most MEM_SYRK_GROUP of
 * them, into out (row stride ldo; column j0 at out[0]). The scale is a power of two, so this is
 * x - shift rounded once and scaled exactly. Also the sums of out's columns (float32 over blocks of
 * MEM_SYRK_BLOCK rows, the blocks added in float64) into sum[j0, j1); returns the largest |out|
 * (the per-column maxima keep the loop a vector one; NaN is caught by the sums). */
static MEM_SIMD_CLONES float shift_columns(const float *restrict x, int64_t n, int64_t d, int64_t j0,
                                           int64_t j1, const float *restrict shift, float scale,
                                           float *restrict out, int64_t ldo, double *restrict sum) {
    float shifted[MEM_SYRK_GROUP], block[MEM_SYRK_GROUP], largest[MEM_SYRK_GROUP];
    const int64_t w = j1 - j0;
    for (int64_t j = 0; j < w; j++) {
        shifted[j] = shift[j0 + j] * scale;
        largest[j] = 0.0f;
        sum[j0 + j] = 0.0;
    }
    for (int64_t b0 = 0; b0 < n; b0 += MEM_SYRK_BLOCK) {
        int64_t b1 = min64(n, b0 + MEM_SYRK_BLOCK);
        for (int64_t j = 0; j < w; j++) block[j] = 0.0f;
        for (int64_t i = b0; i < b1; i++) {
            const float *row = x + i * d + j0;
            float *o = out + i * ldo;
            for (int64_t j = 0; j < w; j++) {
                float v = row[j] * scale - shifted[j], a = fabsf(v);
                o[j] = v;
                block[j] += v;
                largest[j] = a > largest[j] ? a : largest[j];
            }
        }
        for (int64_t j = 0; j < w; j++) sum[j0 + j] += (double)block[j];
    }
    float big = 0.0f;
    for (int64_t j = 0; j < w; j++) big = largest[j] > big ? largest[j] : big;
    return big;
}

static mem_status check_matrix(const char *fn, const char *name, const float *x, int64_t n, int64_t d);

/* Where the shifted inputs' largest magnitude must lie for float32 products and their sums to
 * neither overflow nor lose bits to underflow (squares within 2^-80 .. 2^80). */
#define SAFE_MAGNITUDE 0x1p40

/* Where shift_input writes an input: the syrk kernel's packed layout (col0: the input's first
 * column there) or a row-major n x d matrix (col0 = -1, row stride ldo = d). */
typedef struct centred_out {
    float *base;
    int64_t ldo;
    int64_t col0;
} centred_out;

static float *out_columns(const centred_out *o, int64_t n, int64_t j) {
    return o->col0 >= 0 ? o->base + mem_syrk_packed_index(n, 0, o->col0 + j) : o->base + j;
}

/* x (n x d) as the products take it: each column minus its sampled mean (sample_means), times a
 * power of two. Every CKA variant is unchanged when an input is translated or scaled isotropically,
 * and the exact centring comes later in float64 (the syrk kernel's col_offset; center_gram), so
 * the shift only has to be near the mean for the float32 products to keep their precision. The
 * scale is 1 unless the largest shifted value lies beyond SAFE_MAGNITUDE either way, then it brings
 * that value into [0.5, 1): inputs of any finite magnitude work. One pass over x (a second one for
 * the scaled case), a group's columns at a time; offset[j] = the mean of the written column j (also
 * the scratch of sample_means). The finiteness check rides on the sums: x is scanned again only to
 * name a culprit. */
static mem_status shift_input(const char *fn, const char *name, const float *x, int64_t n, int64_t d,
                              const centred_out *o, float *shift, double *offset) {
    sample_means(x, n, d, offset, shift);
    float scale = 1.0f;
    for (int pass = 0; pass < 2; pass++) {
        float big = 0.0f;
        for (int64_t j0 = 0; j0 < d; ) {
            /* columns [j0, j1) share a group of the syrk layout (row-major: any GROUP of them) */
            int64_t g = o->col0 >= 0 ? o->col0 + j0 : j0;
            int64_t j1 = min64(d, j0 + MEM_SYRK_GROUP - g % MEM_SYRK_GROUP);
            float piece = shift_columns(x, n, d, j0, j1, shift, scale, out_columns(o, n, j0), o->ldo, offset);
            big = piece > big ? piece : big;
            j0 = j1;
        }
        int finite = 1;
        for (int64_t j = 0; j < d; j++) finite &= isfinite(offset[j]) != 0;
        if (!finite) {
            MEM_CHECK(check_matrix(fn, name, x, n, d));
            /* finite entries whose float32 sums overflowed: scale them down by their largest */
            float top = 0.0f;
            for (int64_t q = 0; q < n * d; q++) top = fabsf(x[q]) > top ? fabsf(x[q]) : top;
            big = top * scale;
        } else if (big <= SAFE_MAGNITUDE && (big >= 1.0 / SAFE_MAGNITUDE || big == 0.0f)) {
            for (int64_t j = 0; j < d; j++) offset[j] /= (double)n;
            return MEM_OK;
        }
        if (pass == 1) break;
        int exponent;
        frexp((double)big, &exponent);
        /* 2^-exponent, kept a normal float32 (denormal inputs stay imprecise) */
        exponent = exponent < -125 ? -125 : exponent > 126 ? 126 : exponent;
        scale = ldexpf(1.0f, -exponent);
    }
    return mem_fail(MEM_ERR_NUMERIC, "%s: %s spans too wide a range of magnitudes for float32 products", fn, name);
}

/* Zero the columns of the packed layout's last group that lie past column d. */
static void zero_packed_padding(float *packed, int64_t n, int64_t d) {
    int64_t used = d % MEM_SYRK_GROUP;
    if (used == 0) return;
    float *out = packed + mem_syrk_packed_index(n, 0, d - used);
    for (int64_t i = 0; i < n; i++, out += MEM_SYRK_GROUP)
        memset(out + used, 0, (size_t)(MEM_SYRK_GROUP - used) * sizeof(float));
}

static mem_status check_matrix(const char *fn, const char *name, const float *x, int64_t n, int64_t d) {
    if (x == NULL) return mem_fail(MEM_ERR_ARG, "%s: argument '%s' is NULL", fn, name);
    /* Branch-free scan of the exponent bits in chunks (vectorised), then the culprit's position. */
    const int64_t len = n * d, chunk = 4096;
    for (int64_t q0 = 0; q0 < len; q0 += chunk) {
        int64_t q1 = min64(len, q0 + chunk);
        uint32_t bad = 0;
        for (int64_t q = q0; q < q1; q++) {
            uint32_t bits;
            memcpy(&bits, x + q, sizeof bits);
            bad |= (bits & 0x7f800000u) == 0x7f800000u;
        }
        if (!bad) continue;
        for (int64_t q = q0; q < q1; q++)
            if (!isfinite(x[q]))
                return mem_fail(MEM_ERR_ARG, "%s: %s[%lld, %lld] = %g is not finite", fn, name,
                                (long long)(q / d), (long long)(q % d), (double)x[q]);
    }
    return MEM_OK;
}

static mem_status check_sizes(const char *fn, int64_t n, int64_t n_min, int64_t d1, int64_t d2) {
    if (n < n_min)
        return mem_fail(MEM_ERR_ARG, "%s: n=%lld must be >= %lld", fn, (long long)n, (long long)n_min);
    if (d1 < 1 || d2 < 1)
        return mem_fail(MEM_ERR_ARG, "%s: d1=%lld and d2=%lld must be >= 1", fn, (long long)d1,
                        (long long)d2);
    int64_t big = d1 > d2 ? d1 : d2;
    if (n > (INT64_MAX / 8) / (n > big ? n : big) / 4)
        return mem_fail(MEM_ERR_ARG, "%s: n=%lld with d=%lld is too large", fn, (long long)n, (long long)big);
    return MEM_OK;
}

/* ---- Gram matrices (n x n, float64) ----------------------------------------------------------- */

/* Quickselect: the k-th smallest of v[0..len) (v is reordered). */
static double select_kth(double *v, int64_t len, int64_t k) {
    int64_t lo = 0, hi = len - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

/* K = Xc Xc^T (linear) or the RBF kernel of x; work holds n x n doubles (for the median). */
static mem_status gram(const float *xc, int64_t n, int64_t d, int rbf, double sigma, double *k,
                       double *work, float *tmp, int nt) {
    gemm_acc(0, 1, n, n, d, xc, d, xc, d, k, n, tmp, nt);
    if (!rbf) return MEM_OK;
    int64_t nn = n * n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = k[i * n + i] + k[j * n + j] - 2.0 * k[i * n + j];
            work[i * n + j] = s > 0.0 ? s : 0.0;
        }
    for (int64_t i = 0; i < n; i++) work[i * n + i] = 0.0;
    memcpy(k, work, (size_t)nn * sizeof(double));
    double med = select_kth(work, nn, nn / 2);
    if (nn % 2 == 0) { /* numpy's median: mean of the two middle values */
        double lower = work[0];
        for (int64_t q = 1; q < nn / 2; q++) lower = work[q] > lower ? work[q] : lower;
        med = 0.5 * (med + lower);
    }
    if (!(med > 0.0))
        return mem_fail(MEM_ERR_NUMERIC, "mem_cka: the median squared distance is 0; the RBF bandwidth is undefined");
    double scale = -1.0 / (2.0 * sigma * sigma * med);
    for (int64_t q = 0; q < nn; q++) k[q] = exp(k[q] * scale);
    return MEM_OK;
}

/* Centring (H K H) or U-centring of a Gram matrix, in place. */
static void center_gram(double *k, int64_t n, int unbiased, double *means) {
    if (unbiased)
        for (int64_t i = 0; i < n; i++) k[i * n + i] = 0.0;
    for (int64_t j = 0; j < n; j++) means[j] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) means[j] += k[i * n + j];
    double total = 0.0;
    for (int64_t j = 0; j < n; j++) total += means[j];
    if (unbiased) {
        for (int64_t j = 0; j < n; j++) means[j] = means[j] / (double)(n - 2) - total / (double)(n - 2) / (2.0 * (double)(n - 1));
    } else {
        for (int64_t j = 0; j < n; j++) means[j] = means[j] / (double)n - total / (double)n / (2.0 * (double)n);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) k[i * n + j] -= means[i] + means[j];
    if (unbiased)
        for (int64_t i = 0; i < n; i++) k[i * n + i] = 0.0;
}

static double dot(const double *a, const double *b, int64_t len) {
    double s = 0.0;
    for (int64_t q = 0; q < len; q++) s += a[q] * b[q];
    return s;
}

mem_status mem_cka(const float *x, const float *y, int64_t n, int64_t d1, int64_t d2, int kernel,
                   int debiased, double sigma, int n_threads, double *out) {
    const char *fn = "mem_cka";
    MEM_CHECK(check_sizes(fn, n, debiased ? 4 : 2, d1, d2));
    if (kernel != MEM_CKA_LINEAR && kernel != MEM_CKA_RBF)
        return mem_fail(MEM_ERR_ARG, "%s: kernel=%d must be MEM_CKA_LINEAR (0) or MEM_CKA_RBF (1)", fn, kernel);
    if (kernel == MEM_CKA_RBF && !(sigma > 0.0 && sigma < INFINITY))
        return mem_fail(MEM_ERR_ARG, "%s: sigma=%g must be finite and > 0", fn, sigma);
    MEM_REQUIRE_ARG(out, fn);
    if (!x) return mem_fail(MEM_ERR_ARG, "%s: argument 'x' is NULL", fn);
    if (!y) return mem_fail(MEM_ERR_ARG, "%s: argument 'y' is NULL", fn);
    int nt = n_threads;
    int64_t dmax = d1 > d2 ? d1 : d2;
    int feature = kernel == MEM_CKA_LINEAR && !debiased && d1 + d2 <= n;
    /* feature form: xc is Z = [Xc | Yc] (n x (d1 + d2), packed for the syrk kernel); Gram form:
     * xc and yc apart, acc and acc2 n x n */
    size_t zlen = feature ? (size_t)mem_syrk_packed_len(n, d1 + d2) : (size_t)(n * d1);
    /* every entry is written by shift_input (and the packed padding by zero_packed_padding) */
    float *xc = mem_alloc_uninit(zlen, sizeof(float));
    float *yc = feature ? NULL : mem_alloc_uninit((size_t)(n * d2), sizeof(float));
    /* the shifted columns' means, x's then y's (shift_input); later (Gram form) the Gram matrices'
     * row means */
    double *mean = mem_alloc_zeroed((size_t)(d1 + d2 > n ? d1 + d2 : n), sizeof(double));
    float *shift = mem_alloc_uninit((size_t)(d1 + d2), sizeof(float));
    size_t accn = (size_t)(n * n);
    double *acc = feature ? NULL : mem_alloc_zeroed(accn, sizeof(double));
    double *acc2 = feature ? NULL : mem_alloc_zeroed(accn, sizeof(double));
    double *work = (!feature && kernel == MEM_CKA_RBF) ? mem_alloc_zeroed(accn, sizeof(double)) : NULL;
    float *tmp = feature ? NULL : mem_alloc_zeroed(accn, sizeof(float));
    mem_status st = MEM_OK;
    if (!xc || !mean || !shift || (!feature && (!acc || !yc || !acc2 || !tmp || (kernel == MEM_CKA_RBF && !work))))
        goto nomem;
    double hsic, nx, ny;
    const centred_out x_out = {xc, feature ? MEM_SYRK_GROUP : d1, feature ? 0 : -1};
    const centred_out y_out = {feature ? xc : yc, feature ? MEM_SYRK_GROUP : d2, feature ? d1 : -1};
    if ((st = shift_input(fn, "x", x, n, d1, &x_out, shift, mean)) != MEM_OK) goto done;
    if ((st = shift_input(fn, "y", y, n, d2, &y_out, shift + d1, mean + d1)) != MEM_OK) goto done;
    if (feature) {
        zero_packed_padding(xc, n, d1 + d2);
        double norms[3];
        if (mem_syrk_f32_block_norms(n, d1 + d2, xc, d1, mean, norms, nt) != 0) goto nomem;
        nx = sqrt(norms[0]);
        ny = sqrt(norms[1]);
        hsic = norms[2];
    } else {
        int rbf = kernel == MEM_CKA_RBF;
        if ((st = gram(xc, n, d1, rbf, sigma, acc, work, tmp, nt)) != MEM_OK) goto done;
        if ((st = gram(yc, n, d2, rbf, sigma, acc2, work, tmp, nt)) != MEM_OK) goto done;
        center_gram(acc, n, debiased, mean);
        center_gram(acc2, n, debiased, mean);
        hsic = dot(acc, acc2, n * n);
        nx = sqrt(dot(acc, acc, n * n));
        ny = sqrt(dot(acc2, acc2, n * n));
    }
    if (!(nx > 0.0) || !(ny > 0.0)) {
        st = mem_fail(MEM_ERR_NUMERIC, "%s: %s has no variation left after centring; CKA is undefined", fn,
                      nx > 0.0 ? "y" : "x");
        goto done;
    }
    *out = hsic / (nx * ny);
    goto done;
nomem:
    st = mem_fail(MEM_ERR_NOMEM, "%s: cannot allocate work memory for n=%lld, d=%lld", fn, (long long)n, (long long)dmax);
done:
    mem_free_aligned(xc);
    mem_free_aligned(yc);
    mem_free_aligned(mean);
    mem_free_aligned(shift);
    mem_free_aligned(acc);
    mem_free_aligned(acc2);
    mem_free_aligned(work);
    mem_free_aligned(tmp);
    return st;
}

/* ---- RSA -------------------------------------------------------------------------------------- */

typedef struct rank_item {
    double v;
    int64_t i;
} rank_item;

static int rank_cmp(const void *pa, const void *pb) {
    const rank_item *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Replaces v by its ranks (1-based; ties get their average rank). */
static mem_status rank_average(double *v, int64_t len) {
    rank_item *it = malloc((size_t)len * sizeof(rank_item));
    if (!it) return mem_fail(MEM_ERR_NOMEM, "mem_rsa: cannot allocate %lld ranks", (long long)len);
    for (int64_t q = 0; q < len; q++) it[q] = (rank_item){v[q], q};
    qsort(it, (size_t)len, sizeof(rank_item), rank_cmp);
    for (int64_t a = 0; a < len;) {
        int64_t b = a + 1;
        while (b < len && it[b].v == it[a].v) b++;
        double r = 0.5 * (double)(a + 1 + b); /* mean of ranks a+1 .. b */
        for (int64_t q = a; q < b; q++) v[it[q].i] = r;
        a = b;
    }
    free(it);
    return MEM_OK;
}

static double pearson(const double *a, const double *b, int64_t len) {
    double ma = 0.0, mb = 0.0;
    for (int64_t q = 0; q < len; q++) {
        ma += a[q];
        mb += b[q];
    }
    ma /= (double)len;
    mb /= (double)len;
    double sab = 0.0, saa = 0.0, sbb = 0.0;
    for (int64_t q = 0; q < len; q++) {
        double da = a[q] - ma, db = b[q] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if (!(saa > 0.0) || !(sbb > 0.0)) return NAN;
    return sab / sqrt(saa * sbb);
}

/* Upper triangle (i < j) of the RDM 1 - corr(row i, row j) of x, into tri (n(n-1)/2 values).
 * In float64 throughout (standardised rows, products): rows with the same pattern must give
 * exactly equal dissimilarities, or Spearman's average ranks would split their ties. */
static mem_status rdm(const char *name, const float *x, int64_t n, int64_t d, double *tri, double *g,
                      double *z, int nt) {
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * d;
        double m = 0.0, s = 0.0;
        for (int64_t j = 0; j < d; j++) m += r[j];
        m /= (double)d;
        for (int64_t j = 0; j < d; j++) s += ((double)r[j] - m) * ((double)r[j] - m);
        if (!(s > 0.0))
            return mem_fail(MEM_ERR_NUMERIC, "mem_rsa: row %lld of %s is constant; its correlations are undefined",
                            (long long)i, name);
        double inv = 1.0 / sqrt(s);
        for (int64_t j = 0; j < d; j++) z[i * d + j] = ((double)r[j] - m) * inv;
    }
    mem_gemm_f64(0, 1, n, n, d, 1.0, z, d, z, d, 0.0, g, n, nt);
    int64_t q = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) tri[q++] = 1.0 - g[i * n + j];
    return MEM_OK;
}

mem_status mem_rsa(const float *x, const float *y, int64_t n, int64_t d1, int64_t d2, int method,
                   int n_threads, double *out) {
    const char *fn = "mem_rsa";
    MEM_CHECK(check_sizes(fn, n, 3, d1, d2));
    if (d1 < 2 || d2 < 2)
        return mem_fail(MEM_ERR_ARG, "%s: d1=%lld and d2=%lld must be >= 2 (a correlation needs two features)",
                        fn, (long long)d1, (long long)d2);
    if (method != MEM_RSA_PEARSON && method != MEM_RSA_SPEARMAN)
        return mem_fail(MEM_ERR_ARG, "%s: method=%d must be MEM_RSA_PEARSON (0) or MEM_RSA_SPEARMAN (1)", fn, method);
    MEM_REQUIRE_ARG(out, fn);
    MEM_CHECK(check_matrix(fn, "x", x, n, d1));
    MEM_CHECK(check_matrix(fn, "y", y, n, d2));
    int64_t len = n * (n - 1) / 2, dmax = d1 > d2 ? d1 : d2;
    double *ta = mem_alloc_zeroed((size_t)len, sizeof(double));
    double *tb = mem_alloc_zeroed((size_t)len, sizeof(double));
    double *g = mem_alloc_zeroed((size_t)(n * n), sizeof(double));
    double *z = mem_alloc_zeroed((size_t)(n * dmax), sizeof(double));
    mem_status st = MEM_OK;
    if (!ta || !tb || !g || !z) {
        st = mem_fail(MEM_ERR_NOMEM, "%s: cannot allocate work memory for n=%lld", fn, (long long)n);
        goto done;
    }
    if ((st = rdm("x", x, n, d1, ta, g, z, n_threads)) != MEM_OK) goto done;
    if ((st = rdm("y", y, n, d2, tb, g, z, n_threads)) != MEM_OK) goto done;
    if (method == MEM_RSA_SPEARMAN) {
        /* Dissimilarities equal up to rounding (a duplicated input against itself, identical
         * patterns) must tie: snap them to a 2^-40 grid before ranking. */
        for (int64_t q = 0; q < len; q++) {
            ta[q] = rint(ta[q] * 0x1p40) * 0x1p-40;
            tb[q] = rint(tb[q] * 0x1p40) * 0x1p-40;
        }
        if ((st = rank_average(ta, len)) != MEM_OK) goto done;
        if ((st = rank_average(tb, len)) != MEM_OK) goto done;
    }
    double r = pearson(ta, tb, len);
    if (isnan(r)) {
        st = mem_fail(MEM_ERR_NUMERIC, "%s: a dissimilarity matrix is constant; the correlation is undefined", fn);
        goto done;
    }
    *out = r;
done:
    mem_free_aligned(ta);
    mem_free_aligned(tb);
    mem_free_aligned(g);
    mem_free_aligned(z);
    return st;
}
