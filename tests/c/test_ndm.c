/* NDM beyond its gradients: the integrator's step-size range is enforced at creation, inference is
 * pure (bit-identical outputs and weights when predicting twice), and consolidation moves
 * rate P ⊙ F into W_rec without moving the effective weights (<= 1 ulp per entry against the
 * correctly rounded reference, next prediction within 1e-5). */
#include "test_util.h"
#include "testing.h"

static int64_t ulps(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    return llabs((long long)ia - (long long)ib);
}

static void check_step_range(void) {
    const char *const euler_bad[] = {"integrator=euler", "dt=1.5", NULL};
    const char *const euler_ok[] = {"integrator=euler", "dt=1.5", "substeps=2", NULL};
    const char *const rk4_bad[] = {"integrator=rk4", "dt=2.8", NULL};
    const char *const rk4_ok[] = {"integrator=rk4", "dt=2.7", NULL};
    const char *const *bad[] = {euler_bad, rk4_bad}, *const *ok[] = {euler_ok, rk4_ok};
    for (int k = 0; k < 2; k++) {
        mem_config *cfg = NULL;
        mem_model *m = NULL;
        CHECK_OK(mem_config_create("ndm", &cfg));
        for (int i = 0; bad[k][i]; i++) {
            const char *eq = strchr(bad[k][i], '=');
            char key[32];
            memcpy(key, bad[k][i], (size_t)(eq - bad[k][i]));
            key[eq - bad[k][i]] = '\0';
            if (strcmp(key, "integrator") == 0) CHECK_OK(mem_config_set_str(cfg, key, eq + 1));
            else CHECK_OK(mem_config_set_float(cfg, key, atof(eq + 1)));
        }
        CHECK_STATUS(mem_model_create(cfg, 2, 1, &m), MEM_ERR_ARG);
        CHECK(m == NULL && strstr(mem_last_error(), "stability range") != NULL);
        mem_config_free(cfg);
        mem_model *good = test_model("ndm", 2, 1, ok[k]);
        CHECK(good != NULL);
        mem_model_free(good);
    }
}

static float *param(mem_model *m, const char *name, int64_t *n) {
    int64_t idx;
    float *view = NULL;
    int ndim, perm[4], trainable;
    int64_t shape[4];
    const char *nm, *axes[4];
    CHECK_OK(mem_model_param_find(m, name, &idx));
    CHECK_OK(mem_model_param_data(m, idx, &view));
    CHECK_OK(mem_model_param_info(m, idx, &nm, &ndim, shape, axes, perm, &trainable));
    *n = 1;
    for (int k = 0; k < ndim; k++) *n *= shape[k];
    return view;
}

static void check_plastic(const char *plasticity) {
    const int64_t H = 6, N = 300, I = 2;
    char setting[64];
    snprintf(setting, sizeof setting, "plasticity=%s", plasticity);
    const char *const settings[] = {"hidden_size=6", setting, "eta=0.5", "seed=3", "n_threads=1", NULL};
    mem_model *m = test_model("ndm", I, 1, settings);
    CHECK(m != NULL);
    if (!m) return;
    test_rng r = {7};
    float *x = malloc((size_t)(N * I) * sizeof *x), *y = malloc((size_t)N * sizeof *y);
    float out1[300], out2[300];
    test_fill(&r, x, N * I, -1, 1);
    for (int64_t t = 0; t < N; t++) y[t] = 0.5f * x[t * I] + (t ? 0.3f * x[(t - 1) * I + 1] : 0.0f);
    mem_data d = test_stream(x, y, N);
    for (int e = 0; e < 3; e++) CHECK_OK(mem_model_train_epoch(m, &d, e == 0, NULL, NULL, NULL));

    /* inference is pure */
    const int64_t nw = mem_model_weight_count(m);
    int64_t n_rec, n_p, n_f = H * H;
    float *w_rec = param(m, "W_rec", &n_rec), *P = param(m, "P", &n_p);
    float *before = malloc((size_t)nw * sizeof *before), *all = w_rec;
    (void)all;
    float *w0 = NULL;
    CHECK_OK(mem_model_param_data(m, 0, &w0)); /* parameters are one contiguous buffer in table order */
    memcpy(before, w0, (size_t)nw * sizeof *before);
    mem_data xd = test_stream(x, NULL, N);
    CHECK_OK(mem_model_predict(m, &xd, 1, out1, N));
    CHECK_OK(mem_model_predict(m, &xd, 1, out2, N));
    CHECK(memcmp(out1, out2, sizeof(float) * N) == 0);
    CHECK(memcmp(before, w0, (size_t)nw * sizeof *before) == 0);

    /* consolidation, against a clone that does not consolidate */
    float *F = NULL;
    CHECK_OK(mem_model_state_data(m, 1, &F));
    double energy = 0;
    for (int64_t k = 0; k < n_f; k++) energy += fabs(F[k]);
    CHECK_MSG(energy > 1e-5 * (double)n_f, "F is (almost) zero after a stream: %g", energy / (double)n_f);
    mem_model *ref = NULL;
    CHECK_OK(mem_model_clone(m, &ref));
    float *w_old = malloc((size_t)n_rec * sizeof *w_old), *f_old = malloc((size_t)n_f * sizeof *f_old);
    memcpy(w_old, w_rec, (size_t)n_rec * sizeof *w_old);
    memcpy(f_old, F, (size_t)n_f * sizeof *f_old);
    const double rate = 0.3;
    CHECK_OK(mem_model_consolidate(m, rate));
    int64_t worst_w = 0, worst_f = 0;
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < H; j++) {
            const int64_t k = i * H + j;
            const double p = P[n_p == H ? i : k];
            const float w_ref = (float)((double)w_old[k] + rate * p * (double)f_old[k]);
            const float f_ref = (float)((1.0 - rate) * (double)f_old[k]);
            int64_t uw = ulps(w_rec[k], w_ref), uf = ulps(F[k], f_ref);
            worst_w = uw > worst_w ? uw : worst_w;
            worst_f = uf > worst_f ? uf : worst_f;
        }
    CHECK_MSG(worst_w <= 1 && worst_f <= 1, "%s: consolidation off by %lld ulp (W_rec), %lld ulp (F)", plasticity,
              (long long)worst_w, (long long)worst_f);
    float next_a[1], next_b[1];
    mem_data one = test_stream(x, NULL, 1);
    CHECK_OK(mem_model_predict(m, &one, 0, next_a, 1));
    CHECK_OK(mem_model_predict(ref, &one, 0, next_b, 1));
    CHECK_MSG(fabsf(next_a[0] - next_b[0]) <= 1e-5f, "%s: next prediction moved by %g after consolidating",
              plasticity, (double)fabsf(next_a[0] - next_b[0]));

    /* bad rates and kinds without plastic weights */
    CHECK_STATUS(mem_model_consolidate(m, 0.0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_consolidate(m, 1.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_consolidate(m, NAN), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_consolidate(NULL, 0.5), MEM_ERR_ARG);
    mem_model *amrc = test_model("amrc", 2, 1, NULL);
    CHECK_STATUS(mem_model_consolidate(amrc, 0.5), MEM_ERR_UNSUPPORTED);
    mem_model_free(amrc);

    /* diagnostics */
    const char *name;
    double v;
    int64_t nv;
    for (int64_t k = 0; k < mem_model_diag_count(m); k++) {
        CHECK_OK(mem_model_diag(m, k, &name, &v, 1, &nv));
        CHECK_MSG(nv == 1 && isfinite(v) && v >= 0, "diag %s = %g", name, v);
    }
    free(x);
    free(y);
    free(before);
    free(w_old);
    free(f_old);
    mem_model_free(ref);
    mem_model_free(m);
}

int main(void) {
    check_step_range();
    check_plastic("neuron");
    check_plastic("weight");
    TEST_MAIN_END();
}
