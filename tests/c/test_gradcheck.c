/* Gradient checks (DESIGN §7): the double build's analytic gradients against central finite
 * differences in double (norm-relative <= 1e-6 per tensor, plus random directional derivatives),
 * for every parameter and the carried state; float analytic against double analytic (<= 1e-3);
 * checkpointed windows against cached ones (same up to the rounding of sums over segments). Every kind in the registry is checked
 * with both losses, the readout options, stream- and sequence-shaped windows of 1, 7 and 32 steps. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test_util.h"
#include "testing.h"

#define FD_STEP 1e-6
#define FD_TOL 1e-6
#define F32_TOL 1e-3

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

static double rel_err(const double *a, const double *b, int64_t n) {
    double d = 0, na = 0, nb = 0;
    for (int64_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double scale = sqrt(na > nb ? na : nb);
    return scale < 1e-30 ? sqrt(d) : sqrt(d) / scale;
}

/* Central difference of the loss along `dir` applied to `v` (a parameter or the initial state). */
static double directional(problem *p, double *v, const double *dir, int64_t n) {
    double *save = malloc((size_t)n * sizeof *save);
    memcpy(save, v, (size_t)n * sizeof *save);
    for (int64_t i = 0; i < n; i++) v[i] = save[i] + FD_STEP * dir[i];
    double lp = loss_at(p, 0, NULL, 0);
    for (int64_t i = 0; i < n; i++) v[i] = save[i] - FD_STEP * dir[i];
    double lm = loss_at(p, 0, NULL, 0);
    memcpy(v, save, (size_t)n * sizeof *save);
    free(save);
    return (lp - lm) / (2 * FD_STEP);
}

static void check_problem(problem *p, const char *label, test_rng *r) {
    const mem_arch *a = p->arch;
    const int64_t n = a->n_weights, SD = a->state_dim;
    double *grad = malloc((size_t)n * sizeof *grad), *d_state = malloc((size_t)(p->B * SD) * sizeof *d_state);
    double *numeric = malloc((size_t)(n + p->B * SD) * sizeof *numeric);
    double *dir = malloc((size_t)(n + p->B * SD) * sizeof *dir);
    loss_at(p, 1, d_state, 0);
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
        double e = rel_err(numeric, grad + s->offset, s->size);
        CHECK_MSG(e <= FD_TOL, "%s: tensor %s gradient relative error %.3g > %g", label, s->name, e, FD_TOL);
    }
    /* the carried state */
    for (int64_t i = 0; i < p->B * SD; i++) {
        double one = 1.0;
        numeric[i] = directional(p, p->state0 + i, &one, 1);
    }
    double e = rel_err(numeric, d_state, p->B * SD);
    CHECK_MSG(e <= FD_TOL, "%s: initial-state gradient relative error %.3g > %g", label, e, FD_TOL);

    /* random directions over all trainable parameters at once */
    for (int rep = 0; rep < 3; rep++) {
        double analytic = 0;
        for (int t = 0; t < a->n_params; t++) {
            const mem_tensor_spec *s = &a->params[t];
            for (int64_t i = 0; i < s->size; i++) {
                dir[s->offset + i] = s->trainable ? test_range(r, -1, 1) : 0.0;
                analytic += dir[s->offset + i] * grad[s->offset + i];
            }
        }
        double fd = directional(p, p->net.w, dir, n);
        double de = fabs(fd - analytic) / fmax(fabs(fd), 1e-12);
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
    {"amrc", {CASE("hidden_size=5", "learn_memory=0", "spread_init=0"), NULL}},
};

static void run_kind(const char *kind, const char *const *const *cases, uint64_t *seed) {
    const int64_t windows[][2] = {{1, 3}, {7, 9}, {32, 2}};
    for (size_t c = 0; cases[c]; c++)
        for (size_t w = 0; w < 3; w++)
            for (int shape = 0; shape < 3; shape++)
                run_case(kind, cases[c], windows[w][0], windows[w][1], (window_shape)shape, (*seed)++);
}

int main(void) {
    const char *kinds[16];
    const int64_t n_kinds = mem_model_kinds(kinds, 16);
    uint64_t seed = 12345;
    for (int64_t k = 0; k < n_kinds; k++) {
        run_kind(kinds[k], generic_cases, &seed);
        for (size_t i = 0; i < sizeof per_kind / sizeof per_kind[0]; i++)
            if (strcmp(per_kind[i].kind, kinds[k]) == 0) run_kind(kinds[k], per_kind[i].cases, &seed);
    }
    TEST_MAIN_END();
}
