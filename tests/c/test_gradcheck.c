/* Gradient checks (DESIGN §7): the double build's analytic gradients against central finite
 * differences in double (norm-relative <= 1e-6 per tensor, plus random directional derivatives),
 * for every parameter and the carried state (a fourth-order stencil, see FD_STEP); float analytic
 * against double analytic (<= 1e-3); checkpointed windows against cached ones (same up to the
 * rounding of sums over segments). Every kind in the registry is checked with both losses, the
 * readout options and its own flags, stream- and sequence-shaped windows of 1, 7 and 32 steps. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test_util.h"
#include "testing.h"

/* DESIGN §7 names h ~ 1e-6 for second-order central differences, whose rounding noise is about
 * eps |L| / h = 2e-10 |L| per entry. The fourth-order stencil below at h = 1e-4 has a truncation
 * error of the same tiny order (h^4) with 100x less rounding noise, which the manifold's small
 * gradients (1e-6..1e-4 of the loss) need to be resolved to 1e-6. */
#define FD_STEP 1e-4
#define FD_TOL 1e-6
#define F32_TOL 1e-3

/* The worst errors seen for the kind being checked (reported at the end, per kind). */
static double worst_fd, worst_dir, worst_f32;

typedef struct problem {
    mem_model *model;
    const mem_arch *arch;
    int64_t T, B;
    double *x, *y, *weight, *state0;
    int64_t *len;
    double norm;
    mem_net_f64 net;
    const mem_cell_ops_f64 *ops;
    mem_workspace_f64 ws;
    double *state;
} problem;

static double loss_at(problem *p, int want_grad, double *d_state0, int64_t seg_len) {
    const int64_t SD = p->arch->state_dim;
    memcpy(p->state, p->state0, (size_t)(p->B * SD) * sizeof(double));
    mem_window_f64 win = {p->T, p->B, p->x, p->y, p->weight, p->len, p->norm};
    double loss = 0;
    if (want_grad) memset(p->net.g, 0, (size_t)p->arch->n_weights * sizeof(double));
    mem_status s = mem_window_run_f64(&p->net, p->ops, &win, p->state, NULL, &loss, want_grad, d_state0, seg_len, &p->ws);
    CHECK(s == MEM_OK);
    return loss;
}

static double rel_err_floor(const double *a, const double *b, int64_t n, double floor) {
    double d = 0, na = 0, nb = 0;
    for (int64_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double scale = fmax(sqrt(na > nb ? na : nb), floor);
    return scale < 1e-30 ? sqrt(d) : sqrt(d) / scale;
}

static double rel_err(const double *a, const double *b, int64_t n) { return rel_err_floor(a, b, n, 0.0); }

/* The differences carry an absolute rounding error of about eps |L| / h = 2e-12 |L| per entry, so a
 * tensor whose gradient is (nearly) zero — V at a one-step window, where the manifold write cannot
 * reach the loss yet — cannot be compared relative to itself. Norms below this floor are compared
 * against the floor instead (an absolute bar of 1e-11 |L|). */
static double fd_floor(double loss) { return 1e-5 * fmax(fabs(loss), 1e-3); }

/* The loss with `v` moved to save + step * dir. */
static double loss_moved(problem *p, double *v, const double *save, const double *dir, int64_t n, double step) {
    for (int64_t i = 0; i < n; i++) v[i] = save[i] + step * dir[i];
    return loss_at(p, 0, NULL, 0);
}

/* Fourth-order central difference of the loss along `dir` applied to `v` (a parameter or the
 * initial state): (-L(2h) + 8 L(h) - 8 L(-h) + L(-2h)) / 12h. */
static double directional(problem *p, double *v, const double *dir, int64_t n) {
    double *save = malloc((size_t)n * sizeof *save);
    memcpy(save, v, (size_t)n * sizeof *save);
    const double h = FD_STEP;
    const double l2p = loss_moved(p, v, save, dir, n, 2 * h), l1p = loss_moved(p, v, save, dir, n, h);
    const double l1m = loss_moved(p, v, save, dir, n, -h), l2m = loss_moved(p, v, save, dir, n, -2 * h);
    memcpy(v, save, (size_t)n * sizeof *save);
    free(save);
    return (-l2p + 8 * l1p - 8 * l1m + l2m) / (12 * h);
}

static void check_problem(problem *p, const char *label, test_rng *r) {
    const mem_arch *a = p->arch;
    const int64_t n = a->n_weights, SD = a->state_dim;
    double *grad = malloc((size_t)n * sizeof *grad), *d_state = malloc((size_t)(p->B * SD) * sizeof *d_state);
    double *numeric = malloc((size_t)(n + p->B * SD) * sizeof *numeric);
    double *dir = malloc((size_t)(n + p->B * SD) * sizeof *dir);
    const double floor = fd_floor(loss_at(p, 1, d_state, 0));
    memcpy(grad, p->net.g, (size_t)n * sizeof *grad);

    /* per tensor, entry by entry */
    for (int t = 0; t < a->n_params; t++) {
        const mem_tensor_spec *s = &a->params[t];
        if (!s->trainable) {
            int zero = 1;
            for (int64_t i = 0; i < s->size; i++) zero &= grad[s->offset + i] == 0.0;
            CHECK_MSG(zero, "%s: frozen-by-design tensor %s received a gradient", label, s->name);
            continue;
        }
        for (int64_t i = 0; i < s->size; i++) {
            memset(dir, 0, sizeof(double));
            double one = 1.0;
            numeric[i] = directional(p, p->net.w + s->offset + i, &one, 1);
        }
        double e = rel_err_floor(numeric, grad + s->offset, s->size, floor);
        worst_fd = fmax(worst_fd, e);
        CHECK_MSG(e <= FD_TOL, "%s: tensor %s gradient relative error %.3g > %g", label, s->name, e, FD_TOL);
    }
    /* the carried state */
    for (int64_t i = 0; i < p->B * SD; i++) {
        double one = 1.0;
        numeric[i] = directional(p, p->state0 + i, &one, 1);
    }
    double e = rel_err_floor(numeric, d_state, p->B * SD, floor);
    worst_fd = fmax(worst_fd, e);
    CHECK_MSG(e <= FD_TOL, "%s: initial-state gradient relative error %.3g > %g", label, e, FD_TOL);

    /* random directions over all trainable parameters at once; the error is measured against the
     * largest value the derivative could take, |g| |v| (Cauchy-Schwarz), and the floor above */
    for (int rep = 0; rep < 3; rep++) {
        double analytic = 0, g2 = 0, v2 = 0;
        for (int t = 0; t < a->n_params; t++) {
            const mem_tensor_spec *s = &a->params[t];
            for (int64_t i = 0; i < s->size; i++) {
                dir[s->offset + i] = s->trainable ? test_range(r, -1, 1) : 0.0;
                analytic += dir[s->offset + i] * grad[s->offset + i];
                g2 += grad[s->offset + i] * grad[s->offset + i] * (s->trainable != 0);
                v2 += dir[s->offset + i] * dir[s->offset + i];
            }
        }
        double fd = directional(p, p->net.w, dir, n);
        double de = fabs(fd - analytic) / fmax(fmax(fabs(fd), sqrt(g2 * v2)), floor);
        worst_dir = fmax(worst_dir, de);
        CHECK_MSG(de <= FD_TOL, "%s: directional derivative %.12g vs analytic %.12g (rel %.3g)", label, fd, analytic, de);
    }

    /* checkpointed windows recompute the same numbers (sums over segments round differently) */
    double *d_state_seg = malloc((size_t)(p->B * SD) * sizeof *d_state_seg);
    double l_full = loss_at(p, 1, d_state, 0);
    double *grad_full = malloc((size_t)n * sizeof *grad_full);
    memcpy(grad_full, p->net.g, (size_t)n * sizeof *grad_full);
    double l_seg = loss_at(p, 1, d_state_seg, 3);
    CHECK_MSG(fabs(l_seg - l_full) <= 1e-12 * fabs(l_full) && rel_err(grad_full, p->net.g, n) <= 1e-12 &&
                  rel_err(d_state, d_state_seg, p->B * SD) <= 1e-12,
              "%s: checkpointed window (segments of 3) differs from the cached one", label);

    /* float analytic vs double analytic */
    mem_model *m = p->model;
    const int64_t TB = p->T * p->B, I = a->n_inputs, ycols = a->loss == MEM_LOSS_CE ? 1 : a->n_outputs;
    float *xf = malloc((size_t)(TB * I) * sizeof *xf), *yf = malloc((size_t)(TB * ycols) * sizeof *yf);
    float *wf = malloc((size_t)TB * sizeof *wf), *sf = malloc((size_t)(p->B * SD) * sizeof *sf);
    float *dsf = malloc((size_t)(p->B * SD) * sizeof *dsf);
    for (int64_t i = 0; i < TB * I; i++) xf[i] = (float)p->x[i];
    for (int64_t i = 0; i < TB * ycols; i++) yf[i] = (float)p->y[i];
    for (int64_t i = 0; i < TB; i++) wf[i] = (float)p->weight[i];
    for (int64_t i = 0; i < p->B * SD; i++) sf[i] = (float)p->state0[i];
    for (int64_t i = 0; i < n; i++) m->net.w[i] = (float)p->net.w[i];
    memset(m->net.g, 0, (size_t)n * sizeof(float));
    mem_window_f32 winf = {p->T, p->B, xf, yf, wf, p->len, p->norm};
    CHECK(mem_window_run_f32(&m->net, m->ops, &winf, sf, NULL, NULL, 1, dsf, 0, &m->ws) == MEM_OK);
    double *gf = malloc((size_t)(n + p->B * SD) * sizeof *gf);
    for (int t = 0; t < a->n_params; t++) {
        const mem_tensor_spec *s = &a->params[t];
        for (int64_t i = 0; i < s->size; i++) gf[i] = m->net.g[s->offset + i];
        double ef = rel_err(gf, grad + s->offset, s->size);
        worst_f32 = fmax(worst_f32, ef);
        CHECK_MSG(ef <= F32_TOL, "%s: float gradient of %s differs from double by %.3g", label, s->name, ef);
    }
    for (int64_t i = 0; i < p->B * SD; i++) gf[i] = dsf[i];
    CHECK_MSG(rel_err(gf, d_state, p->B * SD) <= F32_TOL, "%s: float state gradient differs from double", label);

    free(grad);
    free(d_state);
    free(numeric);
    free(dir);
    free(d_state_seg);
    free(grad_full);
    free(xf);
    free(yf);
    free(wf);
    free(sf);
    free(dsf);
    free(gf);
}

/* SGW-AMN's winners and |p| depend on each step's input alone (p = gelu(W_in x + b_in), salience
 * |p| softplus(s_hat)): an input row is off the kinks when no two saliences lie within `gap` of
 * each other across the k-th place and no candidate's pre-activation within `pre_gap` of gelu's zero
 * (the |p| kink). */
static int sgw_row_off_kinks(const problem *p, int64_t row) {
    const mem_arch *a = p->arch;
    const mem_tensor_spec *R = &a->params[mem_arch_find_param(a, "R")];
    const int64_t P = R->shape[0], K = (int64_t)a->hyper[0], I = a->n_inputs;
    const double *W_in = p->net.w + a->params[mem_arch_find_param(a, "W_in")].offset;
    const double *b_in = p->net.w + a->params[mem_arch_find_param(a, "b_in")].offset;
    const double *s_hat = p->net.w + a->params[mem_arch_find_param(a, "salience_hat")].offset;
    const double gap = 0.02, pre_gap = 0.01;
    double c[256];
    int ok = 1;
    for (int64_t i = 0; i < P && i < 256; i++) {
        double pre = b_in[i];
        for (int64_t j = 0; j < I; j++) pre += W_in[i * I + j] * p->x[row * I + j];
        ok &= fabs(pre) > pre_gap;
        const double g = 0.5 * pre * (1 + erf(pre / sqrt(2.0)));
        c[i] = fabs(g) * log1p(exp(s_hat[i]));
    }
    /* the k-th largest and the largest below it must differ by more than gap */
    for (int64_t i = 0; i < P && ok && K < P; i++) {
        int64_t above = 0;
        for (int64_t j = 0; j < P; j++) above += c[j] > c[i] || (c[j] == c[i] && j < i);
        if (above == K - 1)
            for (int64_t j = 0; j < P; j++)
                if (j != i && c[j] <= c[i] && c[i] - c[j] < gap) ok = 0;
    }
    return ok;
}

/* A new input row, drawn until it is off the kinks of sgw_row_off_kinks. */
static void sgw_redraw_row(problem *p, test_rng *r, int64_t row) {
    const int64_t I = p->arch->n_inputs;
    for (int tries = 0; tries < 10000; tries++) {
        for (int64_t j = 0; j < I; j++) p->x[row * I + j] = test_range(r, -1.5, 1.5);
        if (sgw_row_off_kinks(p, row)) return;
    }
}

/* The first (step, lane) of the window whose new workspace w_t has an entry within `w_gap` of 0,
 * the kink of the sparsity loss's |w_t| (held steps add no loss and are skipped), or -1. The cell's
 * forward runs on its own buffers, in double. */
static int64_t sgw_row_near_zero_workspace(const problem *p, double w_gap) {
    const mem_arch *a = p->arch;
    const int64_t T = p->T, B = p->B, S = a->cell_state_dim, W = a->params[mem_arch_find_param(a, "a_w")].size;
    double *states = malloc((size_t)((T + 1) * B * S) * sizeof *states);
    double *proj = malloc((size_t)(T * B * a->proj_per_step + a->per_window) * sizeof *proj);
    double *extra = malloc((size_t)(T * B * a->extra_per_step) * sizeof *extra);
    double *z = malloc((size_t)(T * B * a->hidden) * sizeof *z);
    for (int64_t lane = 0; lane < B; lane++)
        memcpy(states + lane * S, p->state0 + lane * a->state_dim, (size_t)S * sizeof *states);
    p->ops->forward(&p->net, T, B, p->x, p->len, states, proj, extra, z);
    int64_t found = -1;
    for (int64_t t = 0; t < T && found < 0; t++)
        for (int64_t lane = 0; lane < B && found < 0; lane++) {
            if (p->len && t >= p->len[lane]) continue;
            const double *w = states + ((t + 1) * B + lane) * S; /* the workspace leads the cell state */
            for (int64_t j = 0; j < W; j++)
                if (fabs(w[j]) < w_gap) found = t * B + lane;
        }
    free(states);
    free(proj);
    free(extra);
    free(z);
    return found;
}

/* Keeps every finite difference off SGW-AMN's kinks (DESIGN §7): input rows are redrawn until the
 * top-k and |p| kinks are `gap` away at every step, then, since the workspace depends on all
 * earlier rows, the row of the first step whose workspace comes near the |w| kink is redrawn,
 * until no step's does. */
static void sgw_keep_off_kinks(problem *p, test_rng *r) {
    for (int64_t row = 0; row < p->T * p->B; row++)
        if (!sgw_row_off_kinks(p, row)) sgw_redraw_row(p, r, row);
    for (int tries = 0; tries < 10000; tries++) {
        const int64_t row = sgw_row_near_zero_workspace(p, 0.01);
        if (row < 0) return;
        sgw_redraw_row(p, r, row);
    }
    CHECK_MSG(0, "sgw_amn: no inputs found that keep the workspace off |w|'s kink");
}

typedef enum { SHAPE_STREAM, SHAPE_SEQ_PER_STEP, SHAPE_SEQ_LAST } window_shape;

static void run_case(const char *kind, const char *const *settings, int64_t T, int64_t B, window_shape shape,
                     uint64_t seed) {
    char label[512];
    int used = snprintf(label, sizeof label, "%s T=%lld B=%lld shape=%d [", kind, (long long)T, (long long)B, (int)shape);
    for (int i = 0; settings[i] && used < (int)sizeof label - 64; i++)
        used += snprintf(label + used, sizeof label - (size_t)used, "%s%s", i ? " " : "", settings[i]);
    snprintf(label + used, sizeof label - (size_t)used, "]");
    mem_model *m = test_model(kind, 3, 3, settings);
    CHECK(m != NULL);
    if (!m) return;
    test_rng r = {seed};
    problem p = {0};
    p.model = m;
    p.arch = &m->arch;
    p.T = T;
    p.B = B;
    const mem_arch *a = p.arch;
    const int64_t TB = T * B, I = a->n_inputs, O = a->n_outputs, SD = a->state_dim;
    const int ce = a->loss == MEM_LOSS_CE;
    p.x = malloc((size_t)(TB * I) * sizeof(double));
    p.y = malloc((size_t)(TB * (ce ? 1 : O)) * sizeof(double));
    p.weight = malloc((size_t)TB * sizeof(double));
    p.state0 = malloc((size_t)(B * SD) * sizeof(double));
    p.state = malloc((size_t)(B * SD) * sizeof(double));
    p.len = shape == SHAPE_STREAM ? NULL : malloc((size_t)B * sizeof(int64_t));
    for (int64_t i = 0; i < TB * I; i++) p.x[i] = test_range(&r, -1.5, 1.5);
    for (int64_t i = 0; i < TB * (ce ? 1 : O); i++) p.y[i] = ce ? (double)(int)test_range(&r, 0, (double)O) : test_range(&r, -1, 1);
    for (int64_t b = 0; p.len && b < B; b++) p.len[b] = 1 + (int64_t)test_range(&r, 0, (double)T);
    double count = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            double w = 1.0;
            if (shape == SHAPE_SEQ_PER_STEP) w = t < p.len[b];
            if (shape == SHAPE_SEQ_LAST) w = t == p.len[b] - 1;
            p.weight[t * B + b] = w;
            count += w;
        }
    p.norm = count * (ce ? 1 : (double)O);
    for (int64_t i = 0; i < B * SD; i++) p.state0[i] = test_range(&r, -0.8, 0.8);
    /* Parameters away from their initial values so every term is exercised. */
    p.net.arch = a;
    p.net.w = malloc((size_t)a->n_weights * sizeof(double));
    p.net.g = malloc((size_t)a->n_weights * sizeof(double));
    p.net.n_threads = 1;
    for (int64_t i = 0; i < a->n_weights; i++) p.net.w[i] = (double)m->net.w[i] + test_range(&r, -0.3, 0.3);
    p.ops = mem_cell_ops_find_f64(kind);
    CHECK(p.ops != NULL);
    if (p.ops && strcmp(kind, "sgw_amn") == 0) sgw_keep_off_kinks(&p, &r);
    if (p.ops) check_problem(&p, label, &r);
    mem_workspace_free_f64(&p.ws);
    free(p.x);
    free(p.y);
    free(p.weight);
    free(p.state0);
    free(p.state);
    free(p.len);
    free(p.net.w);
    free(p.net.g);
    mem_model_free(m);
}

/* Settings per kind: every kind is checked with both losses and the readout options; a kind adds
 * rows for its own flags. A kind without rows gets the generic ones. */
typedef struct kind_cases {
    const char *kind;
    const char *const *cases[16];
    const char *const *base; /* settings put before every row of this kind, the generic ones too */
} kind_cases;

#define CASE(...) ((const char *const[]){__VA_ARGS__, NULL})
static const char *const *const generic_cases[] = {
    CASE("hidden_size=5", "loss=mse"),
    CASE("hidden_size=5", "loss=mse", "output_memory=1", "skip=1"),
    CASE("hidden_size=5", "loss=cross_entropy"),
    CASE("hidden_size=5", "loss=cross_entropy", "output_memory=1"),
    NULL,
};
static const kind_cases per_kind[] = {
    {"amrc", {CASE("hidden_size=5", "learn_memory=0", "spread_init=0"), NULL}, NULL},
    /* pmrc: beta=0.9 with gates, whose memory forgets about half per step at init: with a fast echo
     * as well, the initial state's gradient after 32 steps sinks to the finite-difference noise. */
    {"pmrc", {CASE("hidden_size=5", "use_recurrent=0", "use_learnable_gates=0", "output_memory=0"),
              CASE("hidden_size=5", "use_recurrent=0", "use_learnable_gates=0", "output_memory=1"),
              CASE("hidden_size=5", "use_recurrent=0", "use_learnable_gates=1", "output_memory=0", "beta=0.9"),
              CASE("hidden_size=5", "use_recurrent=0", "use_learnable_gates=1", "output_memory=1", "loss=cross_entropy", "beta=0.9"),
              CASE("hidden_size=5", "use_recurrent=1", "use_learnable_gates=0", "output_memory=0"),
              CASE("hidden_size=5", "use_recurrent=1", "use_learnable_gates=0", "output_memory=1"),
              CASE("hidden_size=5", "use_recurrent=1", "use_learnable_gates=1", "output_memory=0", "beta=0.9", "skip=1"),
              CASE("hidden_size=5", "use_recurrent=1", "use_learnable_gates=1", "output_memory=1", "beta=0.9"),
              CASE("hidden_size=5", "learn_memory=0", "spread_init=0"),
              NULL},
     NULL},
    /* amn: at the defaults (memory_decay 0.995, M 64) the manifold's gradients (K, V, gamma_logit)
     * are 1e-6..1e-4 of the loss, below what central differences at h 1e-6 resolve (~1e-10 |L| per
     * entry), and M 64 costs minutes under the sanitizer: every row uses a small manifold that
     * forgets at 0.5 per step (the math is the same; the torch twin checks the defaults). */
    {"amn",
     {CASE("feedback=1"), CASE("feedback=0"), CASE("dt=0.5", "loss=cross_entropy"),
      CASE("skip=0", "output_memory=0"), CASE("feedback=0", "lru_min=0.05", "lru_max=0.3"), NULL},
     CASE("hidden_size=5", "memory_manifold_size=3", "memory_decay=0.5")},
    /* ndm: both integrators with 1 and 3 substeps, both plasticity layouts; dt 2 exercises a large
     * RK4 step; lambda dt = 5e-5 takes the series branches of phi and its derivative, 5e-3 the
     * derivative's alone. */
    {"ndm",
     {CASE("integrator=rk4", "substeps=1"), CASE("integrator=rk4", "substeps=3"),
      CASE("integrator=euler", "substeps=1"), CASE("integrator=euler", "substeps=3", "dt=2"),
      CASE("integrator=rk4", "dt=2", "plasticity=weight"), CASE("integrator=euler", "substeps=3", "plasticity=weight"),
      CASE("dt=0.01", "decay_rate=0.005", "lambda_min=0.0001"), CASE("dt=0.01", "decay_rate=0.5"), NULL},
     CASE("hidden_size=5")},
    /* sgw_amn: few candidates (wide gaps between saliences keep finite differences off the top-k
     * boundaries), a small fast-forgetting manifold as for amn; a heavier sparsity loss, k = P (every
     * candidate wins) and k = 1. */
    {"sgw_amn",
     {CASE("sparsity=0.3"), CASE("k=8", "temperature=2"), CASE("k=1", "loss=cross_entropy"),
      CASE("workspace_memory=0.5", "skip=0", "output_memory=1"), NULL},
     CASE("hidden_size=5", "n_candidates=8", "workspace_size=3", "k=3", "memory_manifold_size=3", "memory_decay=0.5")},
    /* dtpn: a small, fast-forgetting manifold as for amn (the generic rows cover both losses and
     * the readout options); one row with fixed, exact (unspread) rates, a slow echo and memory and
     * a slower manifold. */
    {"dtpn",
     {CASE("learn_memory=0", "spread_init=0", "beta=0.9", "alpha=0.02", "skip=0", "memory_decay=0.95"), NULL},
     CASE("hidden_size=5", "memory_manifold_size=3", "memory_decay=0.5")},
    /* hyper_amn: as amn, with fast per-head decays 0.4..0.7 (the array parameter, set by test_model
     * from comma-separated values); the generic rows run with feedback, these add feedback off, one
     * head and four heads. */
    {"hyper_amn",
     {CASE("feedback=0"), CASE("n_heads=1", "memory_decays=0.5", "dt=0.5"),
      CASE("n_heads=4", "memory_decays=0.5,0.6,0.7,0.4", "loss=cross_entropy", "output_memory=1"), NULL},
     CASE("hidden_size=4", "n_heads=2", "memory_manifold_size=3", "memory_decays=0.5,0.6")},
};

static void run_kind(const char *kind, const char *const *base, const char *const *const *cases, uint64_t *seed) {
    const int64_t windows[][2] = {{1, 3}, {7, 9}, {32, 2}};
    for (size_t c = 0; cases[c]; c++) {
        const char *settings[32];
        size_t n = 0;
        for (size_t i = 0; base && base[i] && n < 31; i++) settings[n++] = base[i];
        for (size_t i = 0; cases[c][i] && n < 31; i++) settings[n++] = cases[c][i];
        settings[n] = NULL;
        for (size_t w = 0; w < 3; w++)
            for (int shape = 0; shape < 3; shape++)
                run_case(kind, settings, windows[w][0], windows[w][1], (window_shape)shape, (*seed)++);
    }
}

int main(void) {
    const char *kinds[16];
    const int64_t n_kinds = mem_model_kinds(kinds, 16);
    uint64_t seed = 12345;
    for (int64_t k = 0; k < n_kinds; k++) {
        const kind_cases *own = NULL;
        for (size_t i = 0; i < sizeof per_kind / sizeof per_kind[0]; i++)
            if (strcmp(per_kind[i].kind, kinds[k]) == 0) own = &per_kind[i];
        worst_fd = worst_dir = worst_f32 = 0;
        run_kind(kinds[k], own ? own->base : NULL, generic_cases, &seed);
        if (own) run_kind(kinds[k], own->base, own->cases, &seed);
        printf("%-10s worst relative error: finite differences %.2e, directional %.2e, float vs double %.2e\n",
               kinds[k], worst_fd, worst_dir, worst_f32);
    }
    TEST_MAIN_END();
}
