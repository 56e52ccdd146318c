/* Core pieces: CRC32, the counter-based RNG, configuration tables and their messages, the
 * registry, version and build information. */
#include "core/rng.h"
#include "core/serial.h"
#include "model/kind.h"
#include "test_util.h"
#include "testing.h"

static void test_crc_and_rng(void) {
    CHECK(mem_crc32("123456789", 9) == 0xCBF43926u); /* the standard check value */
    CHECK(mem_crc32("", 0) == 0);
    mem_rng a, b;
    mem_rng_init(&a, 42);
    mem_rng_init(&b, 42);
    uint64_t first = mem_rng_next_u64(&a);
    CHECK(first == mem_rng_next_u64(&b));
    /* counter-based: jumping the counter gives the same value as drawing up to it */
    for (int i = 0; i < 10; i++) mem_rng_next_u64(&a);
    uint64_t v = mem_rng_next_u64(&a);
    mem_rng c;
    mem_rng_init(&c, 42);
    c.counter = 11;
    CHECK(mem_rng_next_u64(&c) == v);
    double mean = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        double u = mem_rng_uniform(&b);
        CHECK(u >= 0 && u < 1);
        mean += u;
        double z = mem_rng_normal(&b);
        sq += z * z;
    }
    CHECK(fabs(mean / 100000 - 0.5) < 0.01 && fabs(sq / 100000 - 1.0) < 0.02);
    int64_t idx[50], seen[50] = {0};
    for (int i = 0; i < 50; i++) idx[i] = i;
    mem_rng_shuffle(&b, idx, 50);
    for (int i = 0; i < 50; i++) seen[idx[i]]++;
    for (int i = 0; i < 50; i++) CHECK(seen[i] == 1);
}

static void test_config_tables(void) {
    const char *kinds[8];
    int64_t n_kinds = mem_model_kinds(kinds, 8);
    CHECK(n_kinds >= 1 && strcmp(kinds[0], "amrc") == 0);
    CHECK(mem_model_kinds(NULL, 0) == n_kinds);
    int64_t n = mem_config_param_count("amrc");
    CHECK(n > 10);
    CHECK(mem_config_param_count("nope") == -1);
    for (int64_t k = 0; k < n_kinds; k++) /* the config's value array has room for every table */
        CHECK(mem_config_param_count(kinds[k]) <= MEM_MAX_CONFIG_PARAMS);
    int saw_beta = 0, saw_lr = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *name, *choices, *doc;
        mem_param_type type;
        mem_param_table table;
        double def, lo, hi;
        int bounds;
        CHECK_OK(mem_config_param_info("amrc", i, &name, &type, &table, &def, &lo, &hi, &bounds, &choices, &doc));
        CHECK(doc && doc[0]);
        CHECK(type != MEM_PARAM_CHOICE || choices);
        if (strcmp(name, "beta") == 0) {
            saw_beta = table == MEM_TABLE_ARCH && def == 0.3 && bounds == (MEM_BOUND_MIN_OPEN | MEM_BOUND_MAX_OPEN);
        }
        if (strcmp(name, "learning_rate") == 0) saw_lr = table == MEM_TABLE_TRAIN && def > 0;
    }
    CHECK(saw_beta && saw_lr);
    CHECK_STATUS(mem_config_param_info("amrc", n, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), MEM_ERR_ARG);

    mem_config *cfg = NULL;
    CHECK_OK(mem_config_create("amrc", &cfg));
    CHECK(strcmp(mem_config_kind(cfg), "amrc") == 0);
    CHECK_OK(mem_config_set_int(cfg, "hidden_size", 7));
    CHECK_OK(mem_config_set_float(cfg, "beta", 0.5));
    CHECK_OK(mem_config_set_str(cfg, "optimizer", "sgd"));
    int64_t hv;
    double bv;
    const char *sv;
    CHECK_OK(mem_config_get_int(cfg, "hidden_size", &hv));
    CHECK_OK(mem_config_get_float(cfg, "beta", &bv));
    CHECK_OK(mem_config_get_str(cfg, "optimizer", &sv));
    CHECK(hv == 7 && bv == 0.5 && strcmp(sv, "sgd") == 0);
    /* messages name the key, the value and the allowed range */
    CHECK_STATUS(mem_config_set_float(cfg, "beta", 1.0), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "beta") && strstr(mem_last_error(), "1") && strstr(mem_last_error(), "(0, 1)"));
    CHECK_STATUS(mem_config_set_float(cfg, "alpha", NAN), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_float(cfg, "hidden_size", 3.5), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "integer"));
    CHECK_STATUS(mem_config_set_int(cfg, "hidden_size", 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_int(cfg, "hiden_size", 3), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "unknown parameter 'hiden_size'") && strstr(mem_last_error(), "hidden_size"));
    CHECK_STATUS(mem_config_set_str(cfg, "optimizer", "adam"), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "adamw|sgd"));
    CHECK_STATUS(mem_config_set_str(cfg, "beta", "x"), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_int(cfg, "loss", 1), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_floats(cfg, "beta", &bv, 1), MEM_ERR_ARG);
    mem_config *copy = NULL;
    CHECK_OK(mem_config_clone(cfg, &copy));
    CHECK_OK(mem_config_get_int(copy, "hidden_size", &hv));
    CHECK(hv == 7);
    /* a model keeps its config; only the TRAIN table changes on a live model */
    mem_model *m = NULL;
    CHECK_OK(mem_model_create(cfg, 2, 1, &m));
    CHECK_OK(mem_model_set_float(m, "learning_rate", 0.5));
    CHECK_OK(mem_model_set_str(m, "lr_schedule", "constant"));
    CHECK_STATUS(mem_model_set_int(m, "hidden_size", 9), MEM_ERR_STATE);
    CHECK_STATUS(mem_model_set_float(m, "learning_rate", -1), MEM_ERR_ARG);
    mem_config *back = NULL;
    CHECK_OK(mem_model_get_config(m, &back));
    double lr;
    CHECK_OK(mem_config_get_float(back, "learning_rate", &lr));
    CHECK(lr == 0.5);
    /* cross-entropy needs two classes */
    CHECK_OK(mem_config_set_str(cfg, "loss", "cross_entropy"));
    mem_model *bad = (mem_model *)(uintptr_t)1;
    CHECK_STATUS(mem_model_create(cfg, 2, 1, &bad), MEM_ERR_ARG);
    CHECK(bad == NULL);
    mem_model_free(m);
    mem_config_free(cfg);
    mem_config_free(copy);
    mem_config_free(back);
}

static void test_params_and_diags(void) {
    const char *settings[] = {"hidden_size=4", "skip=1", "output_memory=1", NULL};
    mem_model *m = test_model("amrc", 3, 2, settings);
    const char *expected[] = {"W", "b", "w_m", "beta_logit", "alpha_logit", "W_o", "b_o", "D", "output_beta_logit"};
    CHECK(mem_model_param_count(m) == 9);
    for (int64_t i = 0; i < mem_model_param_count(m); i++) {
        const char *name, *axes[4];
        int ndim, perm[4], trainable;
        int64_t shape[4];
        CHECK_OK(mem_model_param_info(m, i, &name, &ndim, shape, axes, perm, &trainable));
        CHECK(strcmp(name, expected[i]) == 0 && trainable);
        for (int k = 0; k < ndim; k++) CHECK(perm[k] == (strcmp(axes[k], "H") == 0));
    }
    float *wm;
    CHECK_OK(mem_model_param_data(m, 2, &wm));
    CHECK(wm[0] == 0.5f && wm[3] == 0.5f); /* the memory gain starts at 0.5 */
    float *beta_logit;
    CHECK_OK(mem_model_param_data(m, 3, &beta_logit));
    double lo = 1e9, hi = -1e9, centre = log(0.3 / 0.7);
    for (int j = 0; j < 4; j++) {
        lo = fmin(lo, beta_logit[j]);
        hi = fmax(hi, beta_logit[j]);
    }
    CHECK(lo >= centre - 1.5 && hi <= centre + 1.5 && hi > lo); /* spread init */
    CHECK(mem_model_diag_count(m) == 4);
    double vals[8];
    int64_t nv;
    const char *dname;
    CHECK_OK(mem_model_diag(m, 0, &dname, vals, 8, &nv));
    CHECK(strcmp(dname, "beta") == 0 && nv == 4 && vals[0] > 0 && vals[0] < 1);
    CHECK_OK(mem_model_diag(m, 3, &dname, vals, 8, &nv));
    CHECK(strcmp(dname, "memory_magnitude") == 0 && nv == 1 && vals[0] == 0.0);
    int64_t counter;
    CHECK_OK(mem_model_counter(m, "epochs_trained", &counter));
    CHECK(counter == 0);
    mem_model_free(m);
}

static void test_version(void) {
    CHECK(mem_version_number() == MEM_VERSION_NUMBER);
    CHECK(strstr(mem_build_info(), mem_version_string()) && strstr(mem_build_info(), mem_build_id()));
    CHECK(strstr(mem_build_info(), "simd="));
    CHECK(strcmp(mem_status_name(MEM_ERR_CORRUPT), "MEM_ERR_CORRUPT") == 0);
    CHECK(strcmp(mem_status_name((mem_status)99), "MEM_ERR_UNKNOWN") == 0);
}

/* Array parameters (hyper_amn's memory_decays): set/get, validation, the per-head default, the
 * length checked against n_heads at creation, the values as the heads' initial decays, and the
 * array kept through save and load. */
static void test_array_parameters(void) {
    mem_config *cfg = NULL;
    CHECK_OK(mem_config_create("hyper_amn", &cfg));
    int64_t n = -1;
    double got[8] = {0};
    CHECK_OK(mem_config_get_floats(cfg, "memory_decays", got, 8, &n));
    CHECK(n == 0); /* not set: the kind's default */
    const double bad[2] = {0.9, 1.0}, two[2] = {0.8, 0.95};
    CHECK_STATUS(mem_config_set_floats(cfg, "memory_decays", bad, 2), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "memory_decays[1]=1"));
    CHECK_STATUS(mem_config_set_floats(cfg, "memory_decays", NULL, 2), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_floats(cfg, "memory_decays", two, 65), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_float(cfg, "memory_decays", 0.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_float(cfg, "memory_decays", got), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_floats(cfg, "n_heads", got, 8, &n), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_floats(cfg, "memory_decays", got, 8, NULL), MEM_ERR_ARG);
    CHECK_OK(mem_config_set_floats(cfg, "memory_decays", two, 2));
    CHECK_OK(mem_config_get_floats(cfg, "memory_decays", NULL, 0, &n));
    CHECK(n == 2);
    CHECK_OK(mem_config_get_floats(cfg, "memory_decays", got, 1, &n));
    CHECK(n == 2 && got[0] == 0.8 && got[1] == 0.0);
    mem_model *m = NULL;
    CHECK_STATUS(mem_model_create(cfg, 2, 1, &m), MEM_ERR_ARG); /* 3 heads by default */
    CHECK(strstr(mem_last_error(), "n_heads=3"));
    CHECK_OK(mem_config_set_int(cfg, "n_heads", 2));
    CHECK_OK(mem_config_set_int(cfg, "hidden_size", 4));
    CHECK_OK(mem_model_create(cfg, 2, 1, &m));
    int64_t index;
    float *gl;
    CHECK_OK(mem_model_param_find(m, "gamma_logit", &index));
    CHECK_OK(mem_model_param_data(m, index, &gl));
    CHECK(fabs(1.0 / (1.0 + exp(-gl[0])) - 0.8) < 1e-6 && fabs(1.0 / (1.0 + exp(-gl[1])) - 0.95) < 1e-6);
    int64_t size;
    CHECK_OK(mem_model_save_size(m, NULL, &size));
    void *buf = malloc((size_t)size);
    CHECK_OK(mem_model_save_buffer(m, NULL, buf, size));
    mem_model *back = NULL;
    CHECK_OK(mem_model_load_buffer(buf, size, &back));
    mem_config *cfg2 = NULL;
    CHECK_OK(mem_model_get_config(back, &cfg2));
    CHECK_OK(mem_config_get_floats(cfg2, "memory_decays", got, 8, &n));
    CHECK(n == 2 && got[0] == 0.8 && got[1] == 0.95);
    /* the default for 3 heads, and 1 - decay geometric between 0.01 and 0.001 otherwise */
    CHECK_OK(mem_config_set_floats(cfg, "memory_decays", NULL, 0));
    const int heads[2] = {3, 5};
    const double expect[2][5] = {{0.990, 0.995, 0.999}, {0.99, 1 - 0.01 * pow(0.1, 0.25), 1 - 0.01 * pow(0.1, 0.5),
                                                          1 - 0.01 * pow(0.1, 0.75), 0.999}};
    for (int c = 0; c < 2; c++) {
        mem_model *d = NULL;
        CHECK_OK(mem_config_set_int(cfg, "n_heads", heads[c]));
        CHECK_OK(mem_model_create(cfg, 2, 1, &d));
        CHECK_OK(mem_model_param_find(d, "gamma_logit", &index));
        CHECK_OK(mem_model_param_data(d, index, &gl));
        for (int h = 0; h < heads[c]; h++) CHECK(fabs(1.0 / (1.0 + exp(-gl[h])) - expect[c][h]) < 1e-6);
        mem_model_free(d);
    }
    free(buf);
    mem_config_free(cfg2);
    mem_model_free(back);
    mem_model_free(m);
    mem_config_free(cfg);
}

int main(void) {
    test_crc_and_rng();
    test_config_tables();
    test_params_and_diags();
    test_version();
    test_array_parameters();
    TEST_MAIN_END();
}
