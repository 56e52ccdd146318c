/* Training semantics (DESIGN §4): determinism across thread counts, save -> load -> continue equals
 * an uninterrupted run, freeze masks keep entries bit-identical, exact online training, cancel,
 * non-finite detection, checkpointed training, clones, stateless prediction, sequences. */
#include "model/model.h"
#include "test_util.h"
#include "testing.h"

static int same_weights(const mem_model *a, const mem_model *b) {
    return a->arch.n_weights == b->arch.n_weights &&
           memcmp(a->net.w, b->net.w, (size_t)a->arch.n_weights * sizeof(float)) == 0;
}

static int same_memory(const mem_model *a, const mem_model *b) {
    return memcmp(a->memory, b->memory, (size_t)a->arch.state_dim * sizeof(float)) == 0;
}

static mem_model *clone_of(const mem_model *m) {
    mem_model *c = NULL;
    CHECK_OK(mem_model_clone(m, &c));
    return c;
}

static void train(mem_model *m, const mem_data *d, int epochs, int first_flags) {
    for (int e = 0; e < epochs; e++) CHECK_OK(mem_model_train_epoch(m, d, e == 0 ? first_flags : 0, NULL, NULL, NULL));
}

static void test_determinism_threads(void) {
    /* big enough that the cell loop and the GEMMs run in parallel (above MEM_PARALLEL_MIN_WORK) */
    enum { N = 4096, I = 8, O = 3 };
    float *x = malloc(N * I * sizeof *x), *y = malloc(N * O * sizeof *y);
    float *p1 = malloc(N * O * sizeof *p1), *p2 = malloc(N * O * sizeof *p2);
    test_rng r = {11};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *settings[] = {"hidden_size=256", "output_memory=1", "skip=1", "seed=3", NULL};
    mem_model *a = test_model("amrc", I, O, settings);
    mem_model *b = clone_of(a);
    CHECK_OK(mem_model_set_int(a, "n_threads", 1));
    CHECK_OK(mem_model_set_int(b, "n_threads", 2));
    mem_data d = test_stream(x, y, N);
    train(a, &d, 2, MEM_TRAIN_RESTART_SCHEDULE);
    train(b, &d, 2, MEM_TRAIN_RESTART_SCHEDULE);
    CHECK_MSG(same_weights(a, b), "weights differ between 1 and 2 threads");
    CHECK(same_memory(a, b));
    CHECK_OK(mem_model_predict(a, &d, 1, p1, N * O));
    CHECK_OK(mem_model_predict(b, &d, 1, p2, N * O));
    CHECK_MSG(memcmp(p1, p2, N * O * sizeof *p1) == 0, "predictions differ between 1 and 2 threads");
    mem_model_free(a);
    mem_model_free(b);
    free(x);
    free(y);
    free(p1);
    free(p2);
}

static void test_resume_equals_uninterrupted(int sequences) {
    enum { N = 600, I = 3, O = 2, NSEQ = 40, LEN = 15 };
    float x[N * I], y[N * O];
    int64_t lengths[NSEQ];
    test_rng r = {21};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    for (int s = 0; s < NSEQ; s++) lengths[s] = 5 + s % (LEN - 4);
    mem_data d = test_stream(x, y, N);
    if (sequences) d = (mem_data){MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, y, lengths, NSEQ, LEN};
    const char *settings[] = {"hidden_size=16", "bptt=8", "batch_size=8", "epochs=6", "output_memory=1", NULL};
    mem_model *a = test_model("amrc", I, O, settings);
    train(a, &d, 3, MEM_TRAIN_RESTART_SCHEDULE);
    int64_t n;
    CHECK_OK(mem_model_save_size(a, "{}", &n));
    void *buf = malloc((size_t)n);
    CHECK_OK(mem_model_save_buffer(a, "{}", buf, n));
    mem_model *b = NULL;
    CHECK_OK(mem_model_load_buffer(buf, n, &b));
    train(a, &d, 3, 0);
    if (b) train(b, &d, 3, 0);
    CHECK_MSG(b && same_weights(a, b) && same_memory(a, b), "save -> load -> continue differs (sequences=%d)", sequences);
    CHECK(b && a->rng.counter == b->rng.counter && a->opt_step == b->opt_step && a->fit_epoch == b->fit_epoch);
    free(buf);
    mem_model_free(a);
    mem_model_free(b);
}

static void test_freeze(const char *optimizer, double clip) {
    enum { N = 300, I = 3, O = 2 };
    float x[N * I], y[N * O];
    test_rng r = {31};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    char opt[64], clip_s[64];
    snprintf(opt, sizeof opt, "optimizer=%s", optimizer);
    snprintf(clip_s, sizeof clip_s, "clip_norm=%g", clip);
    const char *settings[] = {"hidden_size=8", opt, clip_s, "weight_decay=0.1", "output_memory=1", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_model *before = clone_of(m);
    const mem_arch *a = &m->arch;
    uint8_t *mask = calloc((size_t)a->n_weights, 1);
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        for (int64_t i = 0; i < s->size; i++) mask[s->offset + i] = test_uniform(&r) < 0.5;
        CHECK_OK(mem_model_freeze(m, s->name, mask + s->offset, s->size));
    }
    mem_data d = test_stream(x, y, N);
    train(m, &d, 3, MEM_TRAIN_RESTART_SCHEDULE);
    int64_t frozen_changed = 0, free_changed = 0, n_free = 0;
    for (int64_t i = 0; i < a->n_weights; i++) {
        int changed = memcmp(&m->net.w[i], &before->net.w[i], sizeof(float)) != 0;
        if (mask[i]) frozen_changed += changed;
        else {
            n_free++;
            free_changed += changed;
        }
    }
    CHECK_MSG(frozen_changed == 0, "%s clip=%g: %lld frozen entries changed", optimizer, clip, (long long)frozen_changed);
    CHECK_MSG(free_changed > n_free * 9 / 10, "%s: only %lld of %lld free entries changed", optimizer,
              (long long)free_changed, (long long)n_free);
    /* masks read back, and unfreeze_all releases them */
    uint8_t back[64];
    CHECK_OK(mem_model_frozen(m, "b", back, 64));
    CHECK(memcmp(back, mask + a->params[mem_arch_find_param(a, "b")].offset, 8) == 0);
    CHECK_OK(mem_model_unfreeze_all(m));
    CHECK_OK(mem_model_frozen(m, "b", back, 64));
    CHECK(back[0] == 0 && back[7] == 0);
    free(mask);
    mem_model_free(m);
    mem_model_free(before);
}

static void test_online_is_exact(void) {
    enum { N = 256, I = 2, O = 1 };
    float x[N * I], y[N * O];
    test_rng r = {41};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *settings[] = {"hidden_size=12", "bptt=16", NULL};
    mem_model *a = test_model("amrc", I, O, settings);
    mem_model *b = clone_of(a);
    /* chunks of 96 and 160 steps (multiples of bptt) == one call over all 256 */
    mem_data c1 = test_stream(x, y, 96), c2 = test_stream(x + 96 * I, y + 96 * O, N - 96), all = test_stream(x, y, N);
    CHECK_OK(mem_model_train_epoch(a, &c1, MEM_TRAIN_ONLINE, NULL, NULL, NULL));
    CHECK_OK(mem_model_train_epoch(a, &c2, MEM_TRAIN_ONLINE, NULL, NULL, NULL));
    CHECK_OK(mem_model_train_epoch(b, &all, MEM_TRAIN_ONLINE, NULL, NULL, NULL));
    CHECK_MSG(same_weights(a, b) && same_memory(a, b), "online training in two chunks differs from one call");
    mem_model_free(a);
    mem_model_free(b);
}

static int cancel_after_two(void *user, int64_t done, int64_t total, double loss) {
    int64_t *calls = user;
    (*calls)++;
    return done >= 2;
}

static void test_cancel_and_non_finite(void) {
    enum { N = 600, I = 2, O = 1 };
    float x[N * I], y[N * O], pred[N];
    test_rng r = {51};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *settings[] = {"hidden_size=8", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_data d = test_stream(x, y, N);
    int64_t calls = 0, updates = -1;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, cancel_after_two, &calls, NULL), MEM_ERR_CANCELLED);
    CHECK_OK(mem_model_counter(m, "updates", &updates));
    CHECK(calls == 2 && updates == 2);
    CHECK_OK(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL)); /* still usable */

    /* a weight the user set to 1e30 makes the loss non-finite: reported, weights untouched */
    float *w = NULL;
    int64_t idx;
    CHECK_OK(mem_model_param_find(m, "W_o", &idx));
    CHECK_OK(mem_model_param_data(m, idx, &w));
    w[0] = 1e30f;
    mem_model *before = clone_of(m);
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_NUMERIC);
    CHECK_MSG(strstr(mem_last_error(), "amrc") && strstr(mem_last_error(), "step"), "message: %s", mem_last_error());
    CHECK(same_weights(m, before));
    /* inputs must be finite */
    x[5] = NAN;
    CHECK_STATUS(mem_model_predict(m, &d, 1, pred, N), MEM_ERR_ARG);
    mem_model_free(m);
    mem_model_free(before);
}

static void test_checkpointed_training(void) {
    enum { N = 512, I = 3, O = 2 };
    float x[N * I], y[N * O];
    test_rng r = {61};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *settings[] = {"hidden_size=16", "bptt=64", "output_memory=1", NULL};
    mem_model *a = test_model("amrc", I, O, settings);
    mem_model *b = clone_of(a);
    CHECK_OK(mem_model_set_float(b, "max_cache_mb", 0.01)); /* a few steps per segment */
    mem_data d = test_stream(x, y, N);
    train(a, &d, 2, MEM_TRAIN_RESTART_SCHEDULE);
    train(b, &d, 2, MEM_TRAIN_RESTART_SCHEDULE);
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < a->arch.n_weights; i++) {
        diff += fabs(a->net.w[i] - b->net.w[i]);
        norm += fabs(a->net.w[i]);
    }
    CHECK_MSG(diff / norm < 1e-5, "checkpointed training drifted: relative L1 %.3g", diff / norm);
    mem_model_free(a);
    mem_model_free(b);
}

static void test_stateless_and_memory(void) {
    enum { N = 100, I = 2, O = 2 };
    float x[N * I], p1[N * O], p2[N * O];
    test_rng r = {71};
    test_fill(&r, x, N * I, -1, 1);
    const char *settings[] = {"hidden_size=8", "output_memory=1", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_data first = test_stream(x, NULL, 50), second = test_stream(x + 50 * I, NULL, 50);
    CHECK_OK(mem_model_predict(m, &first, 1, p1, N * O));
    int64_t nb;
    CHECK_OK(mem_model_state_size(m, &nb));
    float *state = malloc((size_t)nb), *after = malloc((size_t)nb);
    CHECK_OK(mem_model_get_state(m, state, nb));
    mem_model *before = clone_of(m);
    CHECK_OK(mem_model_predict_with_state(m, &second, state, nb, p2, N * O));
    CHECK(same_weights(m, before) && same_memory(m, before)); /* the model is untouched */
    CHECK_OK(mem_model_predict(m, &second, 0, p1, N * O));     /* continuing the memory */
    CHECK(memcmp(p1, p2, 50 * O * sizeof(float)) == 0);
    CHECK_OK(mem_model_get_state(m, after, nb));
    CHECK(memcmp(after, state, (size_t)nb) == 0);
    /* set_state / reset_memory */
    CHECK_OK(mem_model_reset_memory(m));
    CHECK_OK(mem_model_get_state(m, after, nb));
    CHECK(after[0] == 0.0f);
    CHECK_OK(mem_model_set_state(m, state, nb));
    CHECK(same_memory(m, m) && memcmp(m->memory, state, (size_t)nb) == 0);
    /* the state table names the tensors */
    const char *name;
    int ndim;
    int64_t shape[4];
    const char *axes[4];
    CHECK(mem_model_state_count(m) == 3);
    CHECK_OK(mem_model_state_info(m, 2, &name, &ndim, shape, axes));
    CHECK(strcmp(name, "output") == 0 && ndim == 1 && shape[0] == O && strcmp(axes[0], "O") == 0);
    free(state);
    free(after);
    mem_model_free(m);
    mem_model_free(before);
}

static void test_sequences(void) {
    enum { NSEQ = 5, LEN = 6, I = 2, O = 3 };
    float x[NSEQ * LEN * I], yl[NSEQ], out[NSEQ * LEN * O], last[NSEQ * O], one[LEN * O];
    int64_t lengths[NSEQ] = {6, 1, 3, 6, 4};
    test_rng r = {81};
    test_fill(&r, x, NSEQ * LEN * I, -1, 1);
    for (int s = 0; s < NSEQ; s++) yl[s] = (float)(s % O);
    const char *settings[] = {"hidden_size=8", "loss=cross_entropy", "batch_size=2", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_data per_step = {MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, NULL, lengths, NSEQ, LEN};
    mem_data at_last = {MEM_LAYOUT_SEQUENCES, MEM_TARGET_LAST, x, yl, lengths, NSEQ, LEN};
    CHECK_OK(mem_model_train_epoch(m, &at_last, MEM_TRAIN_RESTART_SCHEDULE, NULL, NULL, NULL));
    CHECK_OK(mem_model_predict(m, &per_step, 1, out, NSEQ * LEN * O));
    CHECK_OK(mem_model_predict(m, &at_last, 1, last, NSEQ * O));
    for (int s = 0; s < NSEQ; s++) {
        double sum = 0;
        for (int o = 0; o < O; o++) sum += out[(s * LEN + lengths[s] - 1) * O + o];
        CHECK(fabs(sum - 1.0) < 1e-5); /* probabilities */
        CHECK(memcmp(last + s * O, out + (s * LEN + lengths[s] - 1) * O, O * sizeof(float)) == 0);
        for (int t = (int)lengths[s]; t < LEN; t++) CHECK(out[(s * LEN + t) * O] == 0.0f); /* padding */
        /* each sequence alone gives the same outputs: sequences are independent, from zero state */
        mem_data alone = {MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x + s * LEN * I, NULL, &lengths[s], 1, LEN};
        CHECK_OK(mem_model_predict(m, &alone, 1, one, LEN * O));
        CHECK(memcmp(one, out + s * LEN * O, (size_t)(lengths[s] * O) * sizeof(float)) == 0);
    }
    double loss = -1;
    CHECK_OK(mem_model_loss(m, &at_last, 1, &loss));
    CHECK(loss > 0 && loss < 5);
    CHECK_STATUS(mem_model_predict(m, &per_step, 0, out, NSEQ * LEN * O), MEM_ERR_ARG);
    mem_model_free(m);
}

static void test_carries(void) {
    enum { N = 1000, I = 1, O = 1 };
    float x[N], y[N];
    test_rng r = {91};
    test_fill(&r, x, N, -1, 1);
    test_fill(&r, y, N, -1, 1);
    const char *settings[] = {"hidden_size=4", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_data d = test_stream(x, y, N);
    train(m, &d, 1, MEM_TRAIN_RESTART_SCHEDULE);
    /* n_sub = clamp(1000 // (4 * 32), 1, 32) = 7 sub-streams; sub-stream 0 starts from zero */
    CHECK(m->carry_n_sub == 7 && m->carry_n_steps == N);
    int zero0 = 1, nonzero = 0;
    for (int64_t i = 0; i < m->arch.state_dim; i++) {
        zero0 &= m->carry[i] == 0.0f;
        nonzero |= m->carry[m->arch.state_dim + i] != 0.0f;
    }
    CHECK(zero0 && nonzero);
    mem_data shorter = test_stream(x, y, N - 200);
    train(m, &shorter, 1, 0);
    CHECK(m->carry_n_sub == 6 && m->carry_n_steps == N - 200); /* a change of n_steps drops them */
    mem_model_free(m);
}

static void test_loss_gradient_api(void) {
    enum { NSEQ = 4, LEN = 9, I = 2, O = 2 };
    float x[NSEQ * LEN * I], y[NSEQ * LEN * O];
    int64_t lengths[NSEQ] = {9, 3, 7, 1};
    test_rng r = {101};
    test_fill(&r, x, NSEQ * LEN * I, -1, 1);
    test_fill(&r, y, NSEQ * LEN * O, -1, 1);
    const char *settings[] = {"hidden_size=6", "output_memory=1", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    mem_model *before = clone_of(m);
    mem_data d = {MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, y, lengths, NSEQ, LEN};
    const int64_t n = mem_model_weight_count(m);
    float *grad = malloc((size_t)n * sizeof *grad);
    double loss = 0, loss2 = 0;
    CHECK_OK(mem_model_loss_gradient(m, &d, 1, &loss, grad, n));
    CHECK_OK(mem_model_loss(m, &d, 1, &loss2));
    CHECK(fabs(loss - loss2) <= 1e-6 * loss2);
    CHECK(same_weights(m, before) && same_memory(m, before));
    /* the same window through the double build */
    const mem_arch *a = &m->arch;
    double *xd = malloc(sizeof(double) * LEN * NSEQ * I), *yd = malloc(sizeof(double) * LEN * NSEQ * O);
    double *wd = malloc(sizeof(double) * LEN * NSEQ), *st = calloc((size_t)(NSEQ * a->state_dim), sizeof(double));
    for (int t = 0; t < LEN; t++)
        for (int b = 0; b < NSEQ; b++) {
            for (int i = 0; i < I; i++) xd[(t * NSEQ + b) * I + i] = t < lengths[b] ? x[(b * LEN + t) * I + i] : 0;
            for (int o = 0; o < O; o++) yd[(t * NSEQ + b) * O + o] = t < lengths[b] ? y[(b * LEN + t) * O + o] : 0;
            wd[t * NSEQ + b] = t < lengths[b];
        }
    mem_net_f64 net = {a, malloc(sizeof(double) * n), calloc((size_t)n, sizeof(double)), 1, NULL};
    for (int64_t i = 0; i < n; i++) net.w[i] = m->net.w[i];
    mem_window_f64 win = {LEN, NSEQ, xd, yd, wd, lengths, (9 + 3 + 7 + 1) * O};
    mem_workspace_f64 ws = {0};
    double ld = 0;
    CHECK_OK(mem_window_run_f64(&net, mem_cell_ops_find_f64("amrc"), &win, st, NULL, &ld, 1, NULL, 0, &ws));
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += (grad[i] - net.g[i]) * (grad[i] - net.g[i]);
        norm += net.g[i] * net.g[i];
    }
    CHECK_MSG(sqrt(diff / norm) < 1e-4 && fabs(ld - loss) < 1e-5 * ld, "loss_gradient differs from the double build: %g",
              sqrt(diff / norm));
    CHECK_STATUS(mem_model_loss_gradient(m, &d, 1, &loss, grad, n - 1), MEM_ERR_SHAPE);
    mem_workspace_free_f64(&ws);
    free(net.w);
    free(net.g);
    free(xd);
    free(yd);
    free(wd);
    free(st);
    free(grad);
    mem_model_free(m);
    mem_model_free(before);
}

int main(void) {
    test_determinism_threads();
    test_resume_equals_uninterrupted(0);
    test_resume_equals_uninterrupted(1);
    test_freeze("adamw", 1.0);
    test_freeze("sgd", 1.0);
    test_freeze("adamw", 1e-4);
    test_online_is_exact();
    test_cancel_and_non_finite();
    test_checkpointed_training();
    test_stateless_and_memory();
    test_sequences();
    test_carries();
    test_loss_gradient_api();
    TEST_MAIN_END();
}
