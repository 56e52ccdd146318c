/* Linear sum assignment on a dense float64 cost matrix: shortest augmenting paths after the
 * Jonker–Volgenant initialisation (R. Jonker, A. Volgenant, "A shortest augmenting path algorithm
 * for dense and sparse linear assignment problems", Computing 38, 1987; rectangular and infinite
 * costs as in D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE TAES 2016).
 *
 * The problem is solved with rows <= columns (a tall matrix is transposed). Dual prices v[j] on the
 * columns are kept so that every assigned row sits on a column of minimal reduced cost
 * c[i][j] - v[j]; prices only decrease, so in a rectangular problem the columns left free keep the
 * highest (initial) price, which is what optimality needs there.
 *  1. square only: column reduction (v = column minima, each column offered to its argmin row) and
 *     reduction transfer (a row holding one column lowers that column's price to its second-best);
 *  2. two passes of augmenting row reduction: a free row takes its cheapest column, lowering its
 *     price to the row's second-best reduced cost, and the row it displaces is served next;
 *  3. for every row still free, Dijkstra over the columns with the reduced costs as lengths; the
 *     columns labelled before the free column reached are re-priced and the path is flipped.
 * On random dense problems phases 1–2 assign most rows at the cost of a few row scans each.
 *
 * +inf is a forbidden pair (-inf when maximizing, since the matrix is negated). The algorithm works
 * with the infinities directly: an infinite shortest path, or a row or column without a finite
 * entry, is MEM_ERR_INFEASIBLE. Finite magnitudes above 2^400 are scaled by a power of two (exact
 * but for values that underflow) so that sums of reduced costs cannot overflow. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/alloc.h"
#include "core/error.h"
#include "lsa_kernels.h"

#define FN "mem_linear_sum_assignment"
#define INFEASIBLE_MSG "cost matrix is infeasible"

typedef struct lsa {
    const double *c;  /* n x m, n <= m, row-major */
    int64_t n, m;
    int64_t *x;       /* column of each row, -1 free */
    int64_t *y;       /* row of each column, -1 free */
    double *v;        /* column prices */
    double *d;        /* Dijkstra distances; NaN = labelled */
    int64_t *pred;    /* row through which each column was reached */
    int64_t *lab;     /* labelled columns in labelling order */
    double *dlab;     /* their distances when labelled */
    int64_t *freel;   /* free rows */
    int64_t n_free;
    const mem_lsa_kernels *k;
    int unchecked;    /* the input was not validated yet: column_reduction does it on the way */
    int rescale;      /* set by column_reduction: magnitudes need the scaled copy; start again */
} lsa;

static mem_status validate(const double *cost, int64_t n_rows, int64_t n_cols, int maximize,
                           double *max_abs);

static mem_status infeasible(void) { return mem_fail(MEM_ERR_INFEASIBLE, INFEASIBLE_MSG); }

/* Phase 1 (square): column minima by a row-major scan (cache friendly), then the JV assignment of
 * each column to its argmin row (columns in decreasing order; a row keeps the first it gets). */
static mem_status column_reduction(lsa *s) {
    const int64_t n = s->n, m = s->m;
    int64_t *arg = s->pred; /* scratch */
    int64_t *times = s->lab;
    for (int64_t j = 0; j < m; j++) {
        s->v[j] = INFINITY;
        arg[j] = 0;
    }
    if (s->unchecked) {
        /* Square, minimizing, no copy: the validation pass rides on this scan of the matrix
         * (one read of n^2 values instead of two; ~8 % of the solve at n = 1000). */
        int flag = 0;
        double mx = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const double *row = s->c + i * m;
            double *v = s->v;
            for (int64_t j = 0; j < m; j++) {
                double c = row[j], a = fabs(c);
                int lt = c < v[j];
                v[j] = lt ? c : v[j];
                arg[j] = lt ? i : arg[j];
                flag |= (c != c) | (c == -INFINITY);
                mx = (a > mx && a < INFINITY) ? a : mx;
            }
        }
        double unused;
        if (flag) return validate(s->c, n, m, 0, &unused); /* finds and reports the entry */
        if (mx > 0x1p400) {
            s->rescale = 1;
            return MEM_OK;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const double *row = s->c + i * m;
            double *v = s->v;
            for (int64_t j = 0; j < m; j++) { /* branch-free: vectorises */
                int lt = row[j] < v[j];
                v[j] = lt ? row[j] : v[j];
                arg[j] = lt ? i : arg[j];
            }
        }
    }
    for (int64_t j = 0; j < m; j++)
        if (s->v[j] == INFINITY) return infeasible(); /* a column no row can take */
    for (int64_t i = 0; i < n; i++) times[i] = 0;
    for (int64_t j = m - 1; j >= 0; j--) {
        int64_t i = arg[j];
        if (times[i]++ == 0) {
            s->x[i] = j;
            s->y[j] = i;
        }
    }
    /* Reduction transfer: a row holding exactly one column lowers that column's price by the gap to
     * its second-best reduced cost (the column stays the row's minimum; other rows only lose). */
    s->n_free = 0;
    for (int64_t i = 0; i < n; i++) {
        if (times[i] == 0) {
            s->freel[s->n_free++] = i;
        } else if (times[i] == 1) {
            mem_lsa_top2 t;
            s->k->top2(s->c + i * m, s->v, m, &t);
            int64_t j1 = s->x[i];
            double gap = t.j1 == j1 ? t.u2 : t.u1;
            if (gap < INFINITY) s->v[j1] -= gap;
        }
    }
    return MEM_OK;
}

/* Phase 2: one pass of augmenting row reduction over the free list, in place. A displaced row is
 * served at once when the price of the column it lost strictly dropped (so the pass makes
 * progress); else it waits for the next pass. The chains of displacements have a long tail of
 * ever smaller price drops: `budget` immediate re-servings bound the pass, after which displaced
 * rows wait for the shortest-path phase. Counted on uniform random problems (n = 1000..4000), a
 * budget of 2n per pass minimises the total number of row scans of the two phases; 8n costs ~30 %
 * more and an unbounded pass up to 10x more. */
static mem_status augmenting_row_reduction(lsa *s, int64_t budget) {
    const int64_t m = s->m;
    int64_t k = 0, f0 = s->n_free, f = 0;
    while (k < f0) {
        int64_t i = s->freel[k++];
        mem_lsa_top2 t;
        s->k->top2(s->c + i * m, s->v, m, &t);
        if (t.j1 < 0) return infeasible(); /* no finite entry in this row */
        int64_t j1 = t.j1, i0 = s->y[j1];
        int strict = t.u1 < t.u2 && t.u2 < INFINITY;
        if (strict) {
            s->v[j1] -= t.u2 - t.u1;
        } else if (i0 >= 0 && t.j2 >= 0) { /* tie: take the second column instead, maybe free */
            j1 = t.j2;
            i0 = s->y[j1];
        }
        if (i0 >= 0) {
            s->x[i0] = -1;
            if (strict && --budget > 0) s->freel[--k] = i0;
            else s->freel[f++] = i0;
        }
        s->x[i] = j1;
        s->y[j1] = i;
    }
    s->n_free = f;
    return MEM_OK;
}

static inline void label(lsa *s, int64_t j, int64_t *nlab) {
    s->lab[*nlab] = j;
    s->dlab[*nlab] = s->d[j];
    s->d[j] = NAN;
    (*nlab)++;
}

/* Labels every unlabelled column with d <= dmin and returns a free one among them (or -1).
 * `single` >= 0 names the only such column when the caller knows it. */
static int64_t take_level(lsa *s, double dmin, int64_t single, int64_t *nlab) {
    if (single >= 0) {
        if (s->y[single] < 0) return single;
        label(s, single, nlab);
        return -1;
    }
    const double *d = s->d;
    for (int64_t j = 0; j < s->m; j++)
        if (d[j] <= dmin && s->y[j] < 0) return j; /* a free column ends the search at once */
    for (int64_t j = 0; j < s->m; j++)
        if (d[j] <= dmin) label(s, j, nlab);
    return -1;
}

/* Phase 3: shortest augmenting path from free row f. */
static mem_status augment(lsa *s, int64_t f) {
    const int64_t m = s->m;
    double *d = s->d, *v = s->v;
    for (int64_t j = 0; j < m; j++) d[j] = INFINITY;
    int64_t jm, cnt, nlab = 0, head = 0, sink = -1;
    double dm = s->k->relax(s->c + f * m, v, 0.0, d, s->pred, f, m, &jm, &cnt);
    double dmin = dm;
    while (sink < 0) {
        if (jm < 0) return infeasible(); /* every remaining column is unreachable */
        dmin = dm;
        sink = take_level(s, dmin, cnt == 1 ? jm : -1, &nlab);
        while (sink < 0 && head < nlab) {
            int64_t j1 = s->lab[head++], i = s->y[j1];
            const double *row = s->c + i * m;
            double u = (row[j1] - v[j1]) - dmin;
            dm = s->k->relax(row, v, u, d, s->pred, i, m, &jm, &cnt);
            if (jm >= 0 && dm <= dmin) /* new columns at the current level (or below, by rounding) */
                sink = take_level(s, dmin, (cnt == 1 && dm == dmin) ? jm : -1, &nlab);
        }
    }
    for (int64_t q = 0; q < nlab; q++) v[s->lab[q]] += s->dlab[q] - dmin;
    for (int64_t j = sink;;) {
        int64_t i = s->pred[j];
        s->y[j] = i;
        int64_t next = s->x[i];
        s->x[i] = j;
        j = next;
        if (i == f) break;
    }
    return MEM_OK;
}

static mem_status solve(lsa *s) {
    const int64_t n = s->n, m = s->m;
    for (int64_t i = 0; i < n; i++) s->x[i] = -1;
    for (int64_t j = 0; j < m; j++) s->y[j] = -1;
    if (n == m) {
        MEM_CHECK(column_reduction(s));
        if (s->rescale) return MEM_OK;
    } else {
        for (int64_t j = 0; j < m; j++) s->v[j] = 0.0;
        for (int64_t i = 0; i < n; i++) s->freel[i] = i;
        s->n_free = n;
    }
    for (int pass = 0; pass < 2 && s->n_free > 0; pass++)
        MEM_CHECK(augmenting_row_reduction(s, 2 * n + 64));
    for (int64_t q = 0; q < s->n_free; q++) MEM_CHECK(augment(s, s->freel[q]));
    return MEM_OK;
}

/* Rejects NaN and the infinity of the wrong sign; returns the largest finite magnitude. Chunks are
 * checked with branch-free (vectorisable) loops; a bad chunk is searched again for the message. */
static mem_status validate(const double *cost, int64_t n_rows, int64_t n_cols, int maximize,
                           double *max_abs) {
    const double bad = maximize ? INFINITY : -INFINITY;
    const int64_t total = n_rows * n_cols, chunk = 4096;
    double mx = 0.0;
    for (int64_t q0 = 0; q0 < total; q0 += chunk) {
        int64_t q1 = q0 + chunk < total ? q0 + chunk : total;
        int flag = 0;
        for (int64_t q = q0; q < q1; q++) {
            double c = cost[q], a = fabs(c);
            flag |= (c != c) | (c == bad);
            mx = (a > mx && a < INFINITY) ? a : mx;
        }
        if (!flag) continue;
        for (int64_t q = q0; q < q1; q++) {
            double c = cost[q];
            if (c != c || c == bad)
                return mem_fail(MEM_ERR_ARG,
                                FN ": matrix contains invalid numeric entries: cost[%lld, %lld] = %g "
                                   "(NaN%s is not allowed)",
                                (long long)(q / n_cols), (long long)(q % n_cols), c,
                                maximize ? " and +inf when maximizing" : " and -inf when minimizing");
        }
    }
    *max_abs = mx;
    return MEM_OK;
}

/* The working matrix: sign * scale * cost, transposed when tall; 32 x 32 tiles for the transpose. */
static void prepare(const double *cost, int64_t n_rows, int64_t n_cols, int transpose, double mul,
                    double *out) {
    if (!transpose) {
        int64_t total = n_rows * n_cols;
        for (int64_t q = 0; q < total; q++) out[q] = mul * cost[q];
        return;
    }
    const int64_t T = 32;
    for (int64_t i0 = 0; i0 < n_rows; i0 += T)
        for (int64_t j0 = 0; j0 < n_cols; j0 += T) {
            int64_t i1 = i0 + T < n_rows ? i0 + T : n_rows, j1 = j0 + T < n_cols ? j0 + T : n_cols;
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = i0; i < i1; i++) out[j * n_rows + i] = mul * cost[i * n_cols + j];
        }
}

mem_status mem_linear_sum_assignment(const double *cost, int64_t n_rows, int64_t n_cols,
                                     int maximize, int64_t *row_ind, int64_t *col_ind,
                                     int64_t capacity) {
    if (n_rows < 0 || n_cols < 0)
        return mem_fail(MEM_ERR_ARG, FN ": n_rows=%lld and n_cols=%lld must be >= 0",
                        (long long)n_rows, (long long)n_cols);
    if (n_cols > 0 && n_rows > INT64_MAX / 8 / n_cols)
        return mem_fail(MEM_ERR_ARG, FN ": a %lld x %lld matrix is too large", (long long)n_rows,
                        (long long)n_cols);
    int64_t k = n_rows < n_cols ? n_rows : n_cols;
    if (capacity < k)
        return mem_fail(MEM_ERR_SHAPE, FN ": capacity=%lld is below min(n_rows, n_cols)=%lld",
                        (long long)capacity, (long long)k);
    if (k == 0) return MEM_OK;
    MEM_REQUIRE_ARG(cost, FN);
    MEM_REQUIRE_ARG(row_ind, FN);
    MEM_REQUIRE_ARG(col_ind, FN);
    int transpose = n_rows > n_cols;
    lsa s = {0};
    s.n = k;
    s.m = transpose ? n_rows : n_cols;
    s.k = mem_lsa_kernels_get();
    size_t m = (size_t)s.m, n = (size_t)s.n;
    s.x = mem_alloc_zeroed(n, sizeof(int64_t));
    s.freel = mem_alloc_zeroed(n > m ? n : m, sizeof(int64_t));
    s.y = mem_alloc_zeroed(m, sizeof(int64_t));
    s.pred = mem_alloc_zeroed(m, sizeof(int64_t));
    s.lab = mem_alloc_zeroed(m, sizeof(int64_t));
    s.v = mem_alloc_zeroed(m, sizeof(double));
    s.d = mem_alloc_zeroed(m, sizeof(double));
    s.dlab = mem_alloc_zeroed(m, sizeof(double));
    double *copy = NULL;
    mem_status st = MEM_OK;
    if (!s.x || !s.freel || !s.y || !s.pred || !s.lab || !s.v || !s.d || !s.dlab) {
        st = mem_fail(MEM_ERR_NOMEM, FN ": cannot allocate work arrays for %lld columns",
                      (long long)s.m);
        goto done;
    }
    /* A square minimization reads the caller's matrix directly and validates it during the column
     * reduction (which asks for a second, scaled attempt if it finds huge magnitudes); every other
     * case validates first and solves on a working copy. */
    int fused = !transpose && !maximize && n_rows == n_cols;
    for (;;) {
        double max_abs = 0.0, mul = maximize ? -1.0 : 1.0;
        if (!fused && (st = validate(cost, n_rows, n_cols, maximize, &max_abs)) != MEM_OK) goto done;
        while (max_abs * fabs(mul) > 0x1p400) mul *= 0x1p-100;
        if (transpose || mul != 1.0) {
            size_t bytes = (size_t)(n_rows * n_cols) * sizeof(double);
            /* 2 MiB alignment lets Linux back the copy with huge pages: the solver reads whole
             * rows in random order, and 4 KiB pages cost it ~25 % in TLB misses and prefetcher
             * restarts. */
            const size_t huge = (size_t)1 << 21;
            copy = bytes >= huge ? aligned_alloc(huge, (bytes + huge - 1) / huge * huge) : malloc(bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
            if (copy && bytes >= huge) madvise(copy, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
            if (!copy) {
                st = mem_fail(MEM_ERR_NOMEM, FN ": cannot allocate a %lld x %lld working copy",
                              (long long)n_rows, (long long)n_cols);
                goto done;
            }
            prepare(cost, n_rows, n_cols, transpose, mul, copy);
            s.c = copy;
        } else {
            s.c = cost;
        }
        s.unchecked = fused;
        s.rescale = 0;
        st = solve(&s);
        if (st != MEM_OK || !s.rescale) break;
        fused = 0;
    }
    if (st == MEM_OK) {
        if (!transpose) {
            for (int64_t i = 0; i < k; i++) {
                row_ind[i] = i;
                col_ind[i] = s.x[i];
            }
        } else { /* solved rows are the caller's columns; y[r] is the column given to row r */
            int64_t q = 0;
            for (int64_t r = 0; r < s.m; r++)
                if (s.y[r] >= 0) {
                    row_ind[q] = r;
                    col_ind[q] = s.y[r];
                    q++;
                }
        }
    }
done:
    free(copy);
    mem_free_aligned(s.x);
    mem_free_aligned(s.freel);
    mem_free_aligned(s.y);
    mem_free_aligned(s.pred);
    mem_free_aligned(s.lab);
    mem_free_aligned(s.v);
    mem_free_aligned(s.d);
    mem_free_aligned(s.dlab);
    return st;
}
