/* Acceptance-size learning run (label "slow"; not in the default suite): AMRC hidden 32 on
 * Mackey-Glass one-step prediction, 2000 training and 1000 test steps, the test stream continuing
 * the memory left by training. Passes at test NRMSE < 0.03 (repeating the last value scores 0.147).
 * Also prints the speed-sanity figure: a (1000, 10) -> (1000, 5) stream, hidden 32, 20 epochs. */
#include <time.h>

#include "test_util.h"
#include "testing.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int64_t env_int(const char *name, int64_t fallback) {
    const char *v = getenv(name);
    return v ? strtoll(v, NULL, 10) : fallback;
}

int main(void) {
    enum { N_TRAIN = 2000, N_TEST = 1000 };
    static float series[N_TRAIN + N_TEST + 1], pred[N_TEST];
    CHECK(test_mackey_glass(series, N_TRAIN + N_TEST + 1));
    const int64_t epochs = env_int("MG_EPOCHS", 1000);
    char epochs_setting[64], lr_setting[64];
    snprintf(epochs_setting, sizeof epochs_setting, "epochs=%lld", (long long)epochs);
    snprintf(lr_setting, sizeof lr_setting, "learning_rate=%s", getenv("MG_LR") ? getenv("MG_LR") : "0.03");
    const char *settings[] = {"hidden_size=32", epochs_setting, lr_setting, "seed=1", NULL};
    mem_model *m = test_model("amrc", 1, 1, settings);
    CHECK(m != NULL);
    if (!m) TEST_MAIN_END();
    mem_data train = test_stream(series, series + 1, N_TRAIN);
    const double t0 = seconds();
    double loss = 0;
    for (int64_t e = 0; e < epochs; e++)
        CHECK_OK(mem_model_train_epoch(m, &train, e == 0 ? MEM_TRAIN_RESTART_SCHEDULE : 0, NULL, NULL, &loss));
    const double train_time = seconds() - t0;
    mem_data test = test_stream(series + N_TRAIN, NULL, N_TEST);
    CHECK_OK(mem_model_predict(m, &test, 0, pred, N_TEST));
    const double nrmse = test_nrmse(pred, series + N_TRAIN + 1, N_TEST);
    const double naive = test_nrmse(series + N_TRAIN, series + N_TRAIN + 1, N_TEST);
    printf("mackey-glass amrc h32: %lld epochs in %.2f s, final train loss %.3g, test NRMSE %.4f (repeat-last %.3f)\n",
           (long long)epochs, train_time, loss, nrmse, naive);
    CHECK_MSG(nrmse < 0.03, "test NRMSE %.4f >= 0.03", nrmse);
    mem_model_free(m);

    /* speed sanity: (1000, 10) -> (1000, 5), hidden 32, 20 epochs */
    enum { N = 1000, I = 10, O = 5 };
    static float x[N * I], y[N * O];
    test_rng r = {7};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *speed_settings[] = {"hidden_size=32", "epochs=20", NULL};
    mem_model *s = test_model("amrc", I, O, speed_settings);
    mem_data d = test_stream(x, y, N);
    double best = 1e300;
    for (int rep = 0; rep < 5; rep++) {
        const double ts = seconds();
        for (int e = 0; e < 20; e++) CHECK_OK(mem_model_train_epoch(s, &d, e == 0 ? MEM_TRAIN_RESTART_SCHEDULE : 0, NULL, NULL, NULL));
        const double el = seconds() - ts;
        best = el < best ? el : best;
    }
    printf("speed sanity: stream (1000, 10) -> (1000, 5), hidden 32, 20 epochs: best of 5 %.4f s\n", best);
    mem_model_free(s);
    TEST_MAIN_END();
}
