/* Freezing helpers (spec/cells.md, partial training; DESIGN §4): exact counts floor(p*n + 0.5) per
 * tensor, uniform choice without replacement from the model RNG, magnitude and threshold
 * selection, freezing a hidden unit along every "H" axis; frozen entries stay bit-identical under
 * AdamW and SGD with clipping active while the others train; masks survive save/load; bad
 * arguments give statuses with messages. Every kind in the registry is covered. */
#include "model/model.h"
#include "test_util.h"
#include "testing.h"

enum { N_IN = 3, N_OUT = 2, HIDDEN = 5 };

static int64_t exact(double p, int64_t n) { return (int64_t)floor(p * (double)n + 0.5); }

static const char *param_name(const mem_model *m, int64_t p) {
    const char *name = NULL;
    CHECK_OK(mem_model_param_info(m, p, &name, NULL, NULL, NULL, NULL, NULL));
    return name;
}

static int64_t param_size(const mem_model *m, int64_t p) {
    int ndim = 0;
    int64_t shape[4];
    CHECK_OK(mem_model_param_info(m, p, NULL, &ndim, shape, NULL, NULL, NULL));
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) n *= shape[k];
    return n;
}

/* The mask of tensor p (caller frees). */
static uint8_t *mask_of(const mem_model *m, int64_t p) {
    const int64_t n = param_size(m, p);
    uint8_t *mask = malloc((size_t)n);
    CHECK_OK(mem_model_frozen(m, param_name(m, p), mask, n));
    return mask;
}

static int64_t count_mask(const uint8_t *mask, int64_t n) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += mask[i] != 0;
    return c;
}

static mem_model *model_of(const char *kind, const char *const *extra) {
    const char *settings[16] = {"hidden_size=5", "seed=7"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 15; i++) settings[n++] = extra[i];
    settings[n] = NULL;
    return test_model(kind, N_IN, N_OUT, settings);
}

/* ---- fraction: exact counts, replacement of the previous mask, determinism, uniformity ---- */

static void test_fraction(const char *kind) {
    mem_model *m = model_of(kind, NULL);
    if (!m) return;
    static const double fractions[] = {0.5, 0.0, 1.0, 0.3, 0.25, 0.7};
    for (size_t f = 0; f < sizeof fractions / sizeof fractions[0]; f++) {
        int64_t total = 0;
        for (int64_t p = 0; p < mem_model_param_count(m); p++) {
            const char *name = param_name(m, p);
            const int64_t n = param_size(m, p);
            CHECK_OK(mem_model_freeze_fraction(m, name, fractions[f]));
            const int64_t want = exact(fractions[f], n);
            CHECK_MSG(mem_model_frozen_count(m, name) == want, "%s %s (n=%lld) fraction %g: %lld frozen, want %lld",
                      kind, name, (long long)n, fractions[f], (long long)mem_model_frozen_count(m, name),
                      (long long)want);
            uint8_t *mask = mask_of(m, p);
            CHECK(count_mask(mask, n) == want);
            free(mask);
            total += want;
        }
        CHECK_MSG(mem_model_frozen_count(m, NULL) == total, "%s: total frozen %lld, want %lld", kind,
                  (long long)mem_model_frozen_count(m, NULL), (long long)total);
    }
    /* same seed and history -> same choice; the draw advances the RNG, so a second call differs */
    mem_model *a = model_of(kind, NULL), *b = model_of(kind, NULL);
    if (a && b) {
        const char *name = param_name(a, 0);
        const int64_t n = param_size(a, 0);
        CHECK_OK(mem_model_freeze_fraction(a, name, 0.5));
        CHECK_OK(mem_model_freeze_fraction(b, name, 0.5));
        uint8_t *ma = mask_of(a, 0), *mb = mask_of(b, 0);
        CHECK_MSG(memcmp(ma, mb, (size_t)n) == 0, "%s: same seed gave different masks", kind);
        free(ma);
        free(mb);
    }
    mem_model_free(a);
    mem_model_free(b);
    CHECK_OK(mem_model_unfreeze_all(m));
    CHECK(mem_model_frozen_count(m, NULL) == 0);
    mem_model_free(m);
}

/* Every entry is chosen with probability k/n: over many draws each entry's frequency is close to it
 * (the model RNG is deterministic, so this never flakes). */
static void test_fraction_uniform(void) {
    mem_model *m = model_of("pmrc", NULL);
    if (!m) return;
    enum { DRAWS = 4000 };
    const int64_t n = param_size(m, 0); /* W: hidden x inputs */
    const int64_t k = exact(0.3, n);
    int64_t *hits = calloc((size_t)n, sizeof *hits);
    for (int d = 0; d < DRAWS; d++) {
        CHECK_OK(mem_model_freeze_fraction(m, "W", 0.3));
        uint8_t *mask = mask_of(m, 0);
        for (int64_t i = 0; i < n; i++) hits[i] += mask[i];
        free(mask);
    }
    const double expect = (double)DRAWS * (double)k / (double)n, sd = sqrt(expect * (1.0 - (double)k / n));
    for (int64_t i = 0; i < n; i++)
        CHECK_MSG(fabs((double)hits[i] - expect) < 5 * sd, "entry %lld chosen %lld times of %d, expected %.0f", (long long)i,
                  (long long)hits[i], DRAWS, expect);
    free(hits);
    mem_model_free(m);
}

/* ---- magnitude and threshold ---- */

/* Brute-force reference: entry i is among the k smallest (largest) |w|, ties to the lower index. */
static int in_top(const float *w, int64_t n, int64_t i, int64_t k, int largest) {
    int64_t rank = 0;
    for (int64_t j = 0; j < n; j++) {
        const float a = fabsf(w[j]), b = fabsf(w[i]);
        if ((largest ? a > b : a < b) || (a == b && j < i)) rank++;
    }
    return rank < k;
}

static void test_magnitude_threshold(const char *kind) {
    mem_model *m = model_of(kind, NULL);
    if (!m) return;
    for (int64_t p = 0; p < mem_model_param_count(m); p++) {
        const char *name = param_name(m, p);
        const int64_t n = param_size(m, p);
        float *w;
        CHECK_OK(mem_model_param_data(m, p, &w));
        /* magnitudes with ties and both signs */
        for (int64_t i = 0; i < n; i++) w[i] = (float)((i % 2 ? -1 : 1) * (double)((i * 7) % 5) * 0.25);
        for (int largest = 0; largest < 2; largest++) {
            for (double f = 0.0; f <= 1.0; f += 0.2) {
                CHECK_OK(mem_model_freeze_magnitude(m, name, f, largest));
                uint8_t *mask = mask_of(m, p);
                int ok = count_mask(mask, n) == exact(f, n);
                for (int64_t i = 0; i < n; i++) ok &= mask[i] == in_top(w, n, i, exact(f, n), largest);
                CHECK_MSG(ok, "%s %s: magnitude fraction %g largest=%d picked the wrong entries", kind, name, f, largest);
                free(mask);
            }
        }
        for (int above = 0; above < 2; above++) {
            const double thr = 0.5; /* equal to some magnitudes: strict comparisons leave those unfrozen */
            CHECK_OK(mem_model_freeze_threshold(m, name, thr, above));
            uint8_t *mask = mask_of(m, p);
            int ok = 1;
            for (int64_t i = 0; i < n; i++) ok &= mask[i] == (above ? fabsf(w[i]) > thr : fabsf(w[i]) < thr);
            CHECK_MSG(ok, "%s %s: threshold above=%d picked the wrong entries", kind, name, above);
            free(mask);
        }
    }
    mem_model_free(m);
}

/* ---- neurons ---- */

/* Expected mask of freezing unit k: any "H" axis coordinate equals k (computed from param_info). */
static int neuron_mask_ok(const mem_model *m, int64_t p, const int64_t *units, int n_units) {
    int ndim = 0;
    int64_t shape[4];
    const char *axes[4];
    CHECK_OK(mem_model_param_info(m, p, NULL, &ndim, shape, axes, NULL, NULL));
    const int64_t n = param_size(m, p);
    uint8_t *mask = mask_of(m, p);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t rest = i, coord[4];
        for (int d = ndim - 1; d >= 0; d--) {
            coord[d] = rest % shape[d];
            rest /= shape[d];
        }
        int want = 0;
        for (int d = 0; d < ndim; d++)
            for (int u = 0; u < n_units; u++) want |= strcmp(axes[d], "H") == 0 && coord[d] == units[u];
        ok &= mask[i] == want;
    }
    free(mask);
    return ok;
}

static void train_stream(mem_model *m, int epochs) {
    enum { N = 120 };
    float x[N * N_IN], y[N * N_OUT];
    test_rng r = {99};
    test_fill(&r, x, N * N_IN, -1, 1);
    test_fill(&r, y, N * N_OUT, -1, 1);
    mem_data d = test_stream(x, y, N);
    /* the clipping threshold the callers set (1e-3) is far below the gradient norm: every update clips */
    const int64_t nw = mem_model_weight_count(m);
    float *grad = malloc((size_t)nw * sizeof *grad);
    double loss = 0, norm = 0;
    CHECK_OK(mem_model_loss_gradient(m, &d, 1, &loss, grad, nw));
    for (int64_t i = 0; i < nw; i++) norm += (double)grad[i] * grad[i];
    CHECK_MSG(sqrt(norm) > 1e-2, "gradient norm %g: clipping at 1e-3 would not be exercised", sqrt(norm));
    free(grad);
    for (int e = 0; e < epochs; e++)
        CHECK_OK(mem_model_train_epoch(m, &d, e == 0 ? MEM_TRAIN_RESTART_SCHEDULE : 0, NULL, NULL, NULL));
}

/* Trains a copy and checks frozen entries are bit-identical and (strict) every trainable unfrozen
 * entry moved, or (not strict: kinds whose slow parts barely move in a few clipped SGD steps) some
 * unfrozen entry moved. */
static void check_training_respects_mask(const mem_model *m, const char *label, int strict) {
    mem_model *t = NULL;
    CHECK_OK(mem_model_clone(m, &t));
    if (!t) return;
    CHECK_OK(mem_model_set_int(t, "epochs", 4));
    CHECK_OK(mem_model_set_int(t, "bptt", 8));
    train_stream(t, 3);
    int64_t any_moved = 0;
    for (int64_t p = 0; p < mem_model_param_count(m); p++) {
        int trainable = 0;
        CHECK_OK(mem_model_param_info(m, p, NULL, NULL, NULL, NULL, NULL, &trainable));
        const int64_t n = param_size(m, p);
        const float *w0 = m->net.w + m->arch.params[p].offset, *w1 = t->net.w + t->arch.params[p].offset;
        uint8_t *mask = mask_of(m, p);
        int64_t frozen_moved = 0, free_entries = 0, free_moved = 0;
        for (int64_t i = 0; i < n; i++) {
            const int moved = memcmp(&w0[i], &w1[i], sizeof(float)) != 0;
            if (mask[i] || !trainable) frozen_moved += moved;
            else {
                free_entries++;
                free_moved += moved;
            }
        }
        CHECK_MSG(frozen_moved == 0, "%s: %lld frozen entries of %s changed", label, (long long)frozen_moved,
                  param_name(m, p));
        if (strict && free_entries > 0)
            CHECK_MSG(free_moved == free_entries, "%s: only %lld of %lld free entries of %s moved", label,
                      (long long)free_moved, (long long)free_entries, param_name(m, p));
        any_moved += free_moved;
        free(mask);
    }
    CHECK_MSG(any_moved > 0, "%s: no free entry moved", label);
    mem_model_free(t);
}

static void test_neuron(const char *kind, const char *const *extra, int strict) {
    static const char *const optimizers[] = {"adamw", "sgd"};
    for (int o = 0; o < 2; o++) {
        mem_model *m = model_of(kind, extra);
        if (!m) return;
        char label[160];
        snprintf(label, sizeof label, "%s [%s%s] %s", kind, extra && extra[0] ? extra[0] : "",
                 extra && extra[0] && extra[1] ? " ..." : "", optimizers[o]);
        CHECK_OK(mem_model_set_str(m, "optimizer", optimizers[o]));
        CHECK_OK(mem_model_set_float(m, "clip_norm", 1e-3)); /* clipping active on every update */
        CHECK_OK(mem_model_set_float(m, "learning_rate", 0.05));
        const int64_t units[2] = {2, 4};
        CHECK_OK(mem_model_freeze_neuron(m, units[0]));
        for (int64_t p = 0; p < mem_model_param_count(m); p++)
            CHECK_MSG(neuron_mask_ok(m, p, units, 1), "%s: neuron mask of %s is wrong", label, param_name(m, p));
        CHECK_OK(mem_model_freeze_neuron(m, units[1])); /* adds to the first */
        for (int64_t p = 0; p < mem_model_param_count(m); p++)
            CHECK_MSG(neuron_mask_ok(m, p, units, 2), "%s: two-neuron mask of %s is wrong", label, param_name(m, p));
        check_training_respects_mask(m, label, strict);
        mem_model_free(m);
    }
}

/* Explicit entries for PMRC: row and column k of U, row k of W, b[k], w_m[k], column k of W_o. */
static void test_neuron_pmrc_explicit(void) {
    const char *extra[] = {"use_learnable_gates=1", NULL};
    mem_model *m = model_of("pmrc", extra);
    if (!m) return;
    const int64_t k = 3, H = HIDDEN;
    CHECK_OK(mem_model_freeze_neuron(m, k));
    uint8_t U[HIDDEN * HIDDEN], W[HIDDEN * N_IN], Wo[N_OUT * HIDDEN], b[HIDDEN], wm[HIDDEN], Ug[HIDDEN * HIDDEN];
    CHECK_OK(mem_model_frozen(m, "U", U, H * H));
    CHECK_OK(mem_model_frozen(m, "U_g", Ug, H * H));
    CHECK_OK(mem_model_frozen(m, "W", W, H * N_IN));
    CHECK_OK(mem_model_frozen(m, "W_o", Wo, N_OUT * H));
    CHECK_OK(mem_model_frozen(m, "b", b, H));
    CHECK_OK(mem_model_frozen(m, "w_m", wm, H));
    int ok = 1;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < H; j++) ok &= U[i * H + j] == (i == k || j == k) && Ug[i * H + j] == (i == k || j == k);
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < N_IN; j++) ok &= W[i * N_IN + j] == (i == k);
    for (int64_t o = 0; o < N_OUT; o++)
        for (int64_t j = 0; j < H; j++) ok &= Wo[o * H + j] == (j == k);
    for (int64_t j = 0; j < H; j++) ok &= b[j] == (j == k) && wm[j] == (j == k);
    CHECK_MSG(ok, "pmrc: freezing neuron %lld did not freeze exactly its rows and columns", (long long)k);
    CHECK(mem_model_frozen_count(m, "b_o") == 0);
    mem_model_free(m);
}

/* ---- random fractions of every tensor, training with clipping ---- */

static void test_fraction_training(const char *kind) {
    static const char *const optimizers[] = {"adamw", "sgd"};
    for (int o = 0; o < 2; o++) {
        mem_model *m = model_of(kind, NULL);
        if (!m) return;
        CHECK_OK(mem_model_set_str(m, "optimizer", optimizers[o]));
        CHECK_OK(mem_model_set_float(m, "clip_norm", 1e-3));
        for (int64_t p = 0; p < mem_model_param_count(m); p++)
            CHECK_OK(mem_model_freeze_fraction(m, param_name(m, p), 0.5));
        char label[96];
        snprintf(label, sizeof label, "%s fraction 0.5 %s", kind, optimizers[o]);
        check_training_respects_mask(m, label, 0);
        mem_model_free(m);
    }
}

/* ---- save / load ---- */

static void test_save_load(const char *kind) {
    mem_model *m = model_of(kind, NULL);
    if (!m) return;
    CHECK_OK(mem_model_freeze_fraction(m, param_name(m, 0), 0.5));
    CHECK_OK(mem_model_freeze_neuron(m, 1));
    CHECK_OK(mem_model_freeze_magnitude(m, param_name(m, mem_model_param_count(m) - 1), 0.5, 1));
    int64_t size = 0;
    CHECK_OK(mem_model_save_size(m, NULL, &size));
    void *buf = malloc((size_t)size);
    CHECK_OK(mem_model_save_buffer(m, NULL, buf, size));
    mem_model *r = NULL;
    CHECK_OK(mem_model_load_buffer(buf, size, &r));
    free(buf);
    if (!r) {
        mem_model_free(m);
        return;
    }
    CHECK(mem_model_frozen_count(r, NULL) == mem_model_frozen_count(m, NULL) && mem_model_frozen_count(m, NULL) > 0);
    for (int64_t p = 0; p < mem_model_param_count(m); p++) {
        uint8_t *a = mask_of(m, p), *b = mask_of(r, p);
        CHECK_MSG(memcmp(a, b, (size_t)param_size(m, p)) == 0, "%s: mask of %s differs after load", kind, param_name(m, p));
        free(a);
        free(b);
    }
    /* the RNG counter travels with the model: the next random choice is the same */
    CHECK_OK(mem_model_freeze_fraction(m, param_name(m, 0), 0.4));
    CHECK_OK(mem_model_freeze_fraction(r, param_name(r, 0), 0.4));
    uint8_t *a = mask_of(m, 0), *b = mask_of(r, 0);
    CHECK_MSG(memcmp(a, b, (size_t)param_size(m, 0)) == 0, "%s: random choice differs after load", kind);
    free(a);
    free(b);
    mem_model_free(r);
    mem_model_free(m);
}

/* ---- bad arguments ---- */

static void check_message(const char *needle) {
    CHECK_MSG(strstr(mem_last_error(), needle) != NULL, "message '%s' does not mention '%s'", mem_last_error(), needle);
}

static void test_bad_arguments(void) {
    mem_model *m = model_of("pmrc", NULL);
    if (!m) return;
    CHECK_OK(mem_model_freeze_fraction(m, "W", 0.4));
    const int64_t before = mem_model_frozen_count(m, NULL);

    CHECK_STATUS(mem_model_freeze_fraction(NULL, "W", 0.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_fraction(m, NULL, 0.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_fraction(m, "nope", 0.5), MEM_ERR_ARG);
    check_message("'nope'");
    check_message("known: W");
    CHECK_STATUS(mem_model_freeze_fraction(m, "W", 1.5), MEM_ERR_ARG);
    check_message("fraction=1.5");
    check_message("[0, 1]");
    check_message("'W'");
    CHECK_STATUS(mem_model_freeze_fraction(m, "W", -0.1), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_fraction(m, "W", NAN), MEM_ERR_ARG);

    CHECK_STATUS(mem_model_freeze_magnitude(NULL, "W", 0.5, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_magnitude(m, "U_x", 0.5, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_magnitude(m, "W", 2.0, 0), MEM_ERR_ARG);
    check_message("fraction=2");
    CHECK_STATUS(mem_model_freeze_magnitude(m, "W", 0.5, 2), MEM_ERR_ARG);
    check_message("largest=2");

    CHECK_STATUS(mem_model_freeze_threshold(NULL, "W", 0.1, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_threshold(m, NULL, 0.1, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_threshold(m, "W", -0.5, 0), MEM_ERR_ARG);
    check_message("threshold=-0.5");
    CHECK_STATUS(mem_model_freeze_threshold(m, "W", NAN, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_threshold(m, "W", INFINITY, 1), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_threshold(m, "W", 0.1, -1), MEM_ERR_ARG);
    check_message("above=-1");

    CHECK_STATUS(mem_model_freeze_neuron(NULL, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze_neuron(m, -1), MEM_ERR_ARG);
    check_message("k=-1");
    CHECK_STATUS(mem_model_freeze_neuron(m, HIDDEN), MEM_ERR_ARG);
    check_message("[0, 5)");

    CHECK(mem_model_frozen_count(NULL, NULL) == -1);
    CHECK(mem_model_frozen_count(NULL, "W") == -1);
    CHECK(mem_model_frozen_count(m, "nope") == -1);
    check_message("'nope'");

    /* failed calls change nothing */
    CHECK(mem_model_frozen_count(m, NULL) == before);
    mem_model_free(m);
}

int main(void) {
    const char *kinds[32];
    const int64_t n_kinds = mem_model_kinds(kinds, 32);
    for (int64_t k = 0; k < n_kinds && k < 32; k++) {
        test_fraction(kinds[k]);
        test_magnitude_threshold(kinds[k]);
        test_fraction_training(kinds[k]);
        test_save_load(kinds[k]);
        const int strict = strcmp(kinds[k], "amrc") == 0 || strcmp(kinds[k], "pmrc") == 0;
        test_neuron(kinds[k], NULL, strict);
    }
    static const char *const v_norec[] = {"use_recurrent=0", NULL}, *const v_gates[] = {"use_learnable_gates=1", NULL};
    static const char *const v_gates_norec[] = {"use_recurrent=0", "use_learnable_gates=1", "output_memory=1", NULL};
    static const char *const v_fixed[] = {"learn_memory=0", "skip=1", NULL};
    const char *const *const pmrc_variants[] = {v_norec, v_gates, v_gates_norec, v_fixed};
    for (size_t v = 0; v < sizeof pmrc_variants / sizeof pmrc_variants[0]; v++) test_neuron("pmrc", pmrc_variants[v], 1);
    test_neuron("amrc", (const char *const[]){"output_memory=1", "skip=1", NULL}, 1);
    test_neuron_pmrc_explicit();
    test_fraction_uniform();
    test_bad_arguments();
    TEST_MAIN_END();
}
