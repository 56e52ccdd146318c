/* train_amrc: libmem's public C API end to end.
 *
 * Generates a Mackey-Glass series, trains an AMRC model (hidden size 32) to predict x[t+1] from
 * x[t] on the first 2000 steps, runs the training stream once more from zero memory (train NRMSE),
 * saves the model - memory state included - to a file, loads it back, and lets both models forecast
 * the next 1000 steps continuing that memory (test NRMSE). The two forecasts must be bit-identical.
 *
 * Usage: train_amrc [model-file]      (default: train_amrc.mem in the current directory)
 * Exit status: 0 on success, 1 on any failure (the failing call and libmem's message on stderr).
 *
 * Build against an installed libmem:
 *   cmake -S examples/c -B build/examples -DCMAKE_PREFIX_PATH=<prefix> && cmake --build build/examples
 *   cc train_amrc.c $(pkg-config --cflags --libs libmem) -lm -o train_amrc
 */
#include <libmem/libmem.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_TRAIN = 2000, N_TEST = 1000, EPOCHS = 20, HIDDEN = 32 };

/* Every libmem call goes through CHECK: on failure it prints the call, the status and the
 * library's message, and jumps to the clean-up. */
#define CHECK(call)                                                                         \
    do {                                                                                    \
        mem_status check_status_ = (call);                                                  \
        if (check_status_ != MEM_OK) {                                                      \
            fprintf(stderr, "%s failed: %s: %s\n", #call, mem_status_name(check_status_),   \
                    mem_last_error());                                                      \
            goto done;                                                                      \
        }                                                                                   \
    } while (0)

/* x at fractional step s, linearly interpolated; the history before t = 0 is constant. */
static double delayed(const double *x, double s, double initial)
{
    if (s < 0.0) return initial;
    long i = (long)s;
    double frac = s - (double)i;
    return frac == 0.0 ? x[i] : x[i] * (1.0 - frac) + x[i + 1] * frac;
}

static double mg_rhs(double xt, double xd) { return 0.2 * xd / (1.0 + pow(xd, 10.0)) - 0.1 * xt; }

/* Mackey-Glass (a = 0.2, b = 0.1, n = 10, tau = 17) by RK4 at dt = 0.1 from a constant 1.2
 * history, sampled every 1.0 after a washout of 500 samples, scaled to [-1, 1].
 * Returns 0, or -1 when out of memory. */
static int mackey_glass(float *out, int n_samples)
{
    const double dt = 0.1, lag = 17.0 / 0.1, initial = 1.2;
    const int stride = 10, washout = 500;
    const long n_steps = (long)(washout + n_samples) * stride;
    double *x = malloc((size_t)(n_steps + 1) * sizeof *x);
    if (x == NULL) return -1;
    x[0] = initial;
    for (long k = 0; k < n_steps; k++) {
        double d0 = delayed(x, (double)k - lag, initial);
        double dh = delayed(x, (double)k + 0.5 - lag, initial);
        double d1 = delayed(x, (double)k + 1.0 - lag, initial);
        double k1 = mg_rhs(x[k], d0);
        double k2 = mg_rhs(x[k] + 0.5 * dt * k1, dh);
        double k3 = mg_rhs(x[k] + 0.5 * dt * k2, dh);
        double k4 = mg_rhs(x[k] + dt * k3, d1);
        x[k + 1] = x[k] + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n_samples; i++) {
        double v = x[(long)(washout + i) * stride];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    for (int i = 0; i < n_samples; i++)
        out[i] = (float)(2.0 * (x[(long)(washout + i) * stride] - lo) / (hi - lo) - 1.0);
    free(x);
    return 0;
}

/* Root mean squared error over the standard deviation of the target. */
static double nrmse(const float *pred, const float *target, int n)
{
    double mean = 0.0, var = 0.0, se = 0.0;
    for (int i = 0; i < n; i++) mean += target[i];
    mean /= n;
    for (int i = 0; i < n; i++) {
        var += (target[i] - mean) * (target[i] - mean);
        se += ((double)pred[i] - target[i]) * ((double)pred[i] - target[i]);
    }
    return sqrt(se / n) / sqrt(var / n);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "train_amrc.mem";
    int rc = 1;
    mem_config *cfg = NULL;
    mem_model *model = NULL, *loaded = NULL;
    mem_data train, test;
    double train_err, test_err;
    int agree;
    float *series = malloc((N_TRAIN + N_TEST + 1) * sizeof *series);
    float *pred_train = malloc(N_TRAIN * sizeof *pred_train);
    float *pred_a = malloc(N_TEST * sizeof *pred_a);
    float *pred_b = malloc(N_TEST * sizeof *pred_b);
    if (series == NULL || pred_train == NULL || pred_a == NULL || pred_b == NULL ||
        mackey_glass(series, N_TRAIN + N_TEST + 1) != 0) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    /* One input and one output: the (n_steps, 1) arrays are the series itself, the targets the
     * same series one step later. */
    train = (mem_data){.layout = MEM_LAYOUT_STREAM, .target = MEM_TARGET_PER_STEP, .x = series,
                       .y = series + 1, .lengths = NULL, .n_seq = 1, .max_len = N_TRAIN};
    test = (mem_data){.layout = MEM_LAYOUT_STREAM, .target = MEM_TARGET_PER_STEP,
                      .x = series + N_TRAIN, .y = series + N_TRAIN + 1, .lengths = NULL,
                      .n_seq = 1, .max_len = N_TEST};

    printf("%s: AMRC (hidden %d) on Mackey-Glass, %d training steps, %d epochs\n",
           mem_build_info(), HIDDEN, N_TRAIN, EPOCHS);
    CHECK(mem_config_create("amrc", &cfg));
    CHECK(mem_config_set_int(cfg, "hidden_size", HIDDEN));
    CHECK(mem_config_set_int(cfg, "epochs", EPOCHS)); /* length of the learning-rate schedule */
    CHECK(mem_model_create(cfg, 1, 1, &model));

    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        double loss = 0.0;
        int flags = epoch == 0 ? MEM_TRAIN_RESTART_SCHEDULE : 0;
        CHECK(mem_model_train_epoch(model, &train, flags, NULL, NULL, &loss));
        if (epoch == 0 || (epoch + 1) % 5 == 0) printf("epoch %3d  loss %.6f\n", epoch + 1, loss);
    }

    /* The training stream from zero memory: train NRMSE, and the memory at the end of it. */
    CHECK(mem_model_predict(model, &train, 1, pred_train, N_TRAIN));
    CHECK(mem_model_save(model, path, "{\"example\": \"train_amrc\"}"));
    CHECK(mem_model_load(path, &loaded));
    /* Both forecast the continuation from the memory the file carried. */
    CHECK(mem_model_predict(model, &test, 0, pred_a, N_TEST));
    CHECK(mem_model_predict(loaded, &test, 0, pred_b, N_TEST));

    train_err = nrmse(pred_train, series + 1, N_TRAIN);
    test_err = nrmse(pred_a, series + N_TRAIN + 1, N_TEST);
    agree = memcmp(pred_a, pred_b, N_TEST * sizeof *pred_a) == 0;
    printf("train NRMSE %.4f\n", train_err);
    printf("test NRMSE %.4f\n", test_err);
    printf("saved to %s; reloaded model's predictions agree: %s\n", path, agree ? "yes" : "no");
    rc = agree && isfinite(train_err) && isfinite(test_err) ? 0 : 1;

done:
    mem_model_free(loaded);
    mem_model_free(model);
    mem_config_free(cfg);
    free(pred_b);
    free(pred_a);
    free(pred_train);
    free(series);
    return rc;
}
