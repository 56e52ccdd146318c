/* Bad arguments to every public function give a status and a message, never a crash (the
 * sanitizer build runs this too). Functions without a status return a documented sentinel. */
#include "test_util.h"
#include "testing.h"

int main(void) {
    mem_config *cfg = NULL;
    mem_model *m = NULL, *out = NULL;
    CHECK_OK(mem_config_create("amrc", &cfg));
    CHECK_OK(mem_model_create(cfg, 2, 1, &m));
    float x[20] = {0}, y[10] = {0}, buf[64];
    int64_t i64 = 0;
    double f64 = 0;
    const char *str = NULL, *axes[4];
    int ndim, perm[4], trainable;
    int64_t shape[4];
    uint8_t mask[64] = {0};
    mem_data good = {MEM_LAYOUT_STREAM, MEM_TARGET_PER_STEP, x, y, NULL, 1, 10};

    /* status / version helpers never fail */
    CHECK(mem_status_name(MEM_OK) != NULL && mem_last_error() != NULL && mem_build_info() != NULL);
    CHECK(mem_version_string() != NULL && mem_build_id() != NULL && mem_errno() >= 0);
    CHECK(mem_model_kinds(NULL, -5) >= 1);

    /* configuration */
    mem_config *tmp = NULL;
    CHECK_STATUS(mem_config_create(NULL, &tmp), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_create("amrc", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_create("lstm", &tmp), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "amrc")); /* lists the known kinds */
    mem_config_free(NULL);
    CHECK_STATUS(mem_config_clone(NULL, &tmp), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_clone(cfg, NULL), MEM_ERR_ARG);
    CHECK(mem_config_kind(NULL) == NULL);
    CHECK_STATUS(mem_config_set_int(NULL, "beta", 1), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_int(cfg, NULL, 1), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_float(NULL, "beta", 0.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_float(cfg, "beta", INFINITY), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_str(cfg, "optimizer", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_str(NULL, "optimizer", "sgd"), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_floats(cfg, "beta", NULL, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_set_floats(cfg, "nope", NULL, 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_floats(NULL, "memory_decays", NULL, 0, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_floats(cfg, NULL, NULL, 0, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_floats(cfg, "beta", NULL, 0, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_int(cfg, "beta", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_int(NULL, "beta", &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_float(cfg, "nope", &f64), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_str(cfg, "beta", &str), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_get_str(cfg, "optimizer", NULL), MEM_ERR_ARG);
    CHECK(mem_config_param_count(NULL) == -1);
    CHECK_STATUS(mem_config_param_info(NULL, 0, &str, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_config_param_info("amrc", -1, &str, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), MEM_ERR_ARG);

    /* model lifetime and settings */
    CHECK_STATUS(mem_model_create(NULL, 2, 1, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_create(cfg, 2, 1, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_create(cfg, 0, 1, &out), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "n_inputs=0"));
    CHECK_STATUS(mem_model_create(cfg, 2, -3, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_create(cfg, INT64_MAX, 1, &out), MEM_ERR_ARG);
    mem_model_free(NULL);
    CHECK_STATUS(mem_model_clone(NULL, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_clone(m, NULL), MEM_ERR_ARG);
    CHECK(mem_model_kind(NULL) == NULL && mem_model_n_inputs(NULL) == -1 && mem_model_n_outputs(NULL) == -1);
    CHECK_STATUS(mem_model_get_config(NULL, &tmp), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_get_config(m, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_int(NULL, "batch_size", 3), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_int(m, "batch_size", 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_int(m, "nope", 0), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_float(m, "beta", 0.5), MEM_ERR_STATE);
    CHECK_STATUS(mem_model_set_float(m, NULL, 0.5), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_str(m, "optimizer", "rmsprop"), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_str(m, "loss", "mse"), MEM_ERR_STATE);
    CHECK_STATUS(mem_model_counter(m, "nope", &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_counter(NULL, "updates", &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_counter(m, "updates", NULL), MEM_ERR_ARG);

    /* data */
    mem_data d;
    CHECK_STATUS(mem_model_train_epoch(NULL, &good, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_train_epoch(m, NULL, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_train_epoch(m, &good, 99, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.x = NULL;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.y = NULL;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.layout = (mem_layout)7;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.target = MEM_TARGET_LAST;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.target = (mem_target)-1;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    d = good, d.n_seq = 2;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_SHAPE);
    d = good, d.max_len = 0;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_SHAPE);
    d = good, d.max_len = INT64_MAX;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_SHAPE);
    int64_t lens[2] = {3, 11};
    d = (mem_data){MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, y, lens, 2, 5};
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_SHAPE);
    CHECK(strstr(mem_last_error(), "lengths[1]=11"));
    d.n_seq = 0;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_SHAPE);
    d = good, d.lengths = lens;
    CHECK_STATUS(mem_model_train_epoch(m, &d, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    y[3] = INFINITY;
    CHECK_STATUS(mem_model_train_epoch(m, &good, 0, NULL, NULL, NULL), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "y["));
    y[3] = 0;
    CHECK_STATUS(mem_model_loss(m, &good, 1, NULL), MEM_ERR_ARG);
    CHECK(mem_model_weight_count(NULL) == -1);
    CHECK_STATUS(mem_model_loss_gradient(m, &good, 1, &f64, NULL, 100), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_loss_gradient(m, &good, 1, &f64, buf, 3), MEM_ERR_SHAPE);
    d = good, d.y = NULL;
    CHECK_STATUS(mem_model_loss_gradient(m, &d, 1, &f64, buf, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict(m, &good, 1, NULL, 10), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict(m, &good, 1, buf, 9), MEM_ERR_SHAPE);
    CHECK(strstr(mem_last_error(), "out_capacity=9"));
    CHECK_STATUS(mem_model_predict(NULL, &good, 1, buf, 10), MEM_ERR_ARG);
    int64_t nb = 0;
    CHECK_OK(mem_model_state_size(m, &nb));
    CHECK_STATUS(mem_model_predict_with_state(m, &good, NULL, nb, buf, 10), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict_with_state(m, &good, buf, nb - 4, buf + 16, 10), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_predict_with_state(m, &good, buf, nb, NULL, 10), MEM_ERR_ARG);
    d = (mem_data){MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, NULL, NULL, 2, 5};
    CHECK_STATUS(mem_model_predict_with_state(m, &d, buf, nb, buf + 16, 10), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict_states(m, &d, 0, NULL, buf, 64), MEM_ERR_ARG); /* sequences continue nothing */
    CHECK_STATUS(mem_model_predict_states(NULL, &good, 1, NULL, buf, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict_states(m, NULL, 1, NULL, buf, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict_states(m, &good, 1, NULL, NULL, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_predict_states(m, &good, 1, "no_such_state", buf, 64), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "no_such_state") && strstr(mem_last_error(), "known: h"));
    CHECK_STATUS(mem_model_predict_states(m, &good, 1, "h", buf, 10 * nb / 8 - 1), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_predict_states(m, &good, 1, NULL, buf, 10 * nb / 4 - 1), MEM_ERR_SHAPE);

    d = (mem_data){MEM_LAYOUT_SEQUENCES, MEM_TARGET_PER_STEP, x, y, NULL, 2, 5};
    CHECK_STATUS(mem_model_train_epoch(m, &d, MEM_TRAIN_ONLINE, NULL, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_loss(m, &d, 0, &f64), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "mem_model_loss") && strstr(mem_last_error(), "reset_memory"));
    CHECK_STATUS(mem_model_loss_gradient(m, &d, 0, &f64, buf, 64), MEM_ERR_ARG);
    for (int k = 0; k < 16; k++) buf[k] = k == 1 ? NAN : 0.0f;
    CHECK_STATUS(mem_model_predict_with_state(m, &good, buf, nb, buf + 16, 10), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_int(m, "no_such_key", 1), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "mem_model_set_int") && strstr(mem_last_error(), "learning_rate"));
    CHECK_STATUS(mem_model_set_float(m, "clip_norm", -1), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "mem_model_set_float: clip_norm=-1"));

    /* permutations of a permutable axis (amrc: H only, 32 units by default) */
    int64_t order[64];
    for (int k = 0; k < 64; k++) order[k] = 31 - k % 32;
    CHECK_STATUS(mem_model_permute(NULL, "H", order, 32), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_permute(m, NULL, order, 32), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_permute(m, "H", NULL, 32), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_permute(m, "M", order, 32), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "'M'"));
    CHECK_STATUS(mem_model_permute(m, "O", order, 1), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "not a permutation symmetry"));
    CHECK_STATUS(mem_model_permute(m, "H", order, 31), MEM_ERR_SHAPE);
    CHECK_OK(mem_model_permute(m, "H", order, 32));
    CHECK_OK(mem_model_permute(m, "H", order, 32)); /* a reversal twice: the model as it was */
    order[0] = 30; /* 30 twice */
    CHECK_STATUS(mem_model_permute(m, "H", order, 32), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "repeated"));
    order[0] = 31;
    order[5] = 32;
    CHECK_STATUS(mem_model_permute(m, "H", order, 32), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "perm[5]=32 is out of range"));
    order[5] = -1;
    CHECK_STATUS(mem_model_permute(m, "H", order, 32), MEM_ERR_ARG);

    /* memory state */
    CHECK_STATUS(mem_model_reset_memory(NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_reset_training_state(NULL), MEM_ERR_ARG);
    CHECK(mem_model_state_count(NULL) == -1);
    CHECK_STATUS(mem_model_state_info(m, 2, &str, &ndim, shape, axes), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_state_info(NULL, 0, &str, &ndim, shape, axes), MEM_ERR_ARG);
    float *view = NULL;
    CHECK_STATUS(mem_model_state_data(m, -1, &view), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_state_data(m, 0, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_state_size(NULL, &nb), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_state_size(m, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_get_state(m, buf, nb - 1), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_get_state(m, NULL, nb), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_state(m, buf, nb + 4), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_set_state(NULL, buf, nb), MEM_ERR_ARG);
    for (int k = 0; k < 64; k++) buf[k] = NAN;
    CHECK_STATUS(mem_model_set_state(m, buf, nb), MEM_ERR_ARG);

    /* parameters */
    CHECK(mem_model_param_count(NULL) == -1);
    CHECK_STATUS(mem_model_param_info(m, 99, &str, &ndim, shape, axes, perm, &trainable), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_param_info(NULL, 0, &str, &ndim, shape, axes, perm, &trainable), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_param_find(m, "V", &i64), MEM_ERR_ARG);
    CHECK(strstr(mem_last_error(), "W_o"));
    CHECK_STATUS(mem_model_param_find(m, "W", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_param_data(m, 99, &view), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_param_data(m, 0, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze(m, "W", mask, 3), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_freeze(m, "W", NULL, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze(m, "nope", mask, 3), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_freeze(NULL, "W", mask, 3), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_frozen(m, "W", mask, 2), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_frozen(m, "W", NULL, 64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_unfreeze_all(NULL), MEM_ERR_ARG);

    /* diagnostics */
    CHECK(mem_model_diag_count(NULL) == -1);
    CHECK_STATUS(mem_model_diag(m, 42, &str, &f64, 1, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_diag(m, 0, &str, NULL, 5, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_diag(m, 0, &str, &f64, 1, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_diag(NULL, 0, &str, &f64, 1, &i64), MEM_ERR_ARG);
    CHECK_OK(mem_model_diag(m, 0, &str, NULL, 0, &i64)); /* size query */
    CHECK(i64 == 32);

    /* persistence */
    CHECK_STATUS(mem_model_save(NULL, "/tmp/x.mem", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save(m, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save(m, "", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save(m, "/proc/definitely/not/here.mem", NULL), MEM_ERR_IO);
    CHECK_STATUS(mem_model_load(NULL, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_load("/tmp", &out), MEM_ERR_IO);
    CHECK_STATUS(mem_model_load("/nonexistent/model.mem", &out), MEM_ERR_IO);
    CHECK(mem_errno() == 2); /* ENOENT */
    CHECK_STATUS(mem_model_load("/tmp/x.mem", NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save_size(NULL, NULL, &i64), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save_size(m, NULL, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_save_buffer(m, NULL, buf, 10), MEM_ERR_SHAPE);
    CHECK_STATUS(mem_model_save_buffer(m, NULL, NULL, 10), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_load_buffer(NULL, 10, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_load_buffer(buf, -1, &out), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_load_buffer(buf, 0, &out), MEM_ERR_CORRUPT);
    CHECK_STATUS(mem_model_load_buffer(buf, 10, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_metadata(m, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_set_metadata(NULL, "{}"), MEM_ERR_ARG);
    CHECK_OK(mem_model_set_metadata(m, "{\"a\": 1}"));
    char meta[4];
    CHECK_STATUS(mem_model_metadata(m, meta, 4, &i64), MEM_ERR_SHAPE);
    CHECK_OK(mem_model_metadata(m, NULL, 0, &i64)); /* size query */
    CHECK_STATUS(mem_model_metadata(m, meta, 0, &i64), MEM_ERR_SHAPE);
    /* a model with a non-finite weight is not saved: it could not be loaded */
    int64_t w_index;
    float *w_view;
    CHECK_OK(mem_model_param_find(m, "b", &w_index));
    CHECK_OK(mem_model_param_data(m, w_index, &w_view));
    w_view[0] = NAN;
    CHECK_STATUS(mem_model_save_size(m, NULL, &i64), MEM_ERR_NUMERIC);
    CHECK(strstr(mem_last_error(), "'b'"));
    CHECK_STATUS(mem_model_save(m, "/tmp/never_written.mem", NULL), MEM_ERR_NUMERIC);
    w_view[0] = 0.0f;
    CHECK(i64 == 8);
    CHECK_STATUS(mem_model_metadata(m, meta, 4, NULL), MEM_ERR_ARG);
    CHECK_STATUS(mem_model_metadata(NULL, meta, 4, &i64), MEM_ERR_ARG);

    /* alignment and similarity */
    {
        double cost[4] = {1, 2, 3, 4}, val;
        int64_t ri[2], ci[2];
        float fx[12] = {1, 2, 3, 4, 5, 7, 7, 8, 9, 1, 0, 2}, fy[12] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
        CHECK_STATUS(mem_linear_sum_assignment(NULL, 2, 2, 0, ri, ci, 2), MEM_ERR_ARG);
        CHECK_STATUS(mem_linear_sum_assignment(cost, -1, 2, 0, ri, ci, 2), MEM_ERR_ARG);
        CHECK_STATUS(mem_linear_sum_assignment(cost, 2, 2, 0, NULL, ci, 2), MEM_ERR_ARG);
        CHECK_STATUS(mem_linear_sum_assignment(cost, 2, 2, 0, ri, NULL, 2), MEM_ERR_ARG);
        CHECK_STATUS(mem_linear_sum_assignment(cost, 2, 2, 0, ri, ci, 1), MEM_ERR_SHAPE);
        cost[2] = NAN;
        CHECK_STATUS(mem_linear_sum_assignment(cost, 2, 2, 1, ri, ci, 2), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(NULL, fy, 4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, NULL, 4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, 4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, NULL), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, -4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, 4, 0, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, 3, 3, 3, MEM_CKA_LINEAR, 1, 1.0, 0, &val), MEM_ERR_ARG); /* debiased: n >= 4 */
        CHECK_STATUS(mem_cka(fx, fy, 4, 3, 3, 7, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, 4, 3, 3, MEM_CKA_RBF, 0, NAN, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_cka(fx, fy, 4, 3, 3, MEM_CKA_RBF, 0, -1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(NULL, fy, 4, 3, 3, MEM_RSA_PEARSON, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(fx, fy, 4, 3, 3, MEM_RSA_PEARSON, 0, NULL), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(fx, fy, 2, 3, 3, MEM_RSA_PEARSON, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(fx, fy, 4, 1, 3, MEM_RSA_PEARSON, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(fx, fy, 4, 3, 3, 9, 0, &val), MEM_ERR_ARG);
        fx[4] = NAN;
        CHECK_STATUS(mem_cka(fx, fy, 4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_ARG);
        CHECK_STATUS(mem_rsa(fx, fy, 4, 3, 3, MEM_RSA_SPEARMAN, 0, &val), MEM_ERR_ARG);
        float flat[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        CHECK_STATUS(mem_cka(flat, fy, 4, 3, 3, MEM_CKA_LINEAR, 0, 1.0, 0, &val), MEM_ERR_NUMERIC);
        CHECK_STATUS(mem_rsa(flat, fy, 4, 3, 3, MEM_RSA_PEARSON, 0, &val), MEM_ERR_NUMERIC);
    }

    /* the public SGEMM: argument checks, then one product checked by hand */
    {
        float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, -1, 2, 0.5f, 1}, c[4] = {9, 9, 9, 9};
        CHECK_STATUS(mem_sgemm(2, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, 1), MEM_ERR_ARG);
        CHECK_STATUS(mem_sgemm(0, -1, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, 1), MEM_ERR_ARG);
        CHECK_STATUS(mem_sgemm(0, 0, -2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, 1), MEM_ERR_SHAPE);
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 2, b, 2, 0.0f, c, 2, 1), MEM_ERR_SHAPE); /* lda < k */
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 1, 0.0f, c, 2, 1), MEM_ERR_SHAPE); /* ldb < n */
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 1, 1), MEM_ERR_SHAPE); /* ldc < n */
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, NULL, 3, b, 2, 0.0f, c, 2, 1), MEM_ERR_ARG);
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, NULL, 2, 1), MEM_ERR_ARG);
        CHECK_STATUS(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, -1), MEM_ERR_ARG);
        CHECK(c[0] == 9 && c[3] == 9); /* failed calls leave C alone */
        /* [1 2 3; 4 5 6] [1 0; -1 2; 0.5 1] = [0.5 7; 2 16] */
        CHECK_OK(mem_sgemm(0, 0, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2, 1));
        CHECK(c[0] == 0.5f && c[1] == 7.0f && c[2] == 2.0f && c[3] == 16.0f);
        /* alpha == 0 reads neither A nor B; C = beta C */
        CHECK_OK(mem_sgemm(0, 0, 2, 2, 3, 0.0f, NULL, 3, NULL, 2, 2.0f, c, 2, 1));
        CHECK(c[0] == 1.0f && c[3] == 32.0f);
    }

    mem_model_free(m);
    mem_config_free(cfg);
    TEST_MAIN_END();
}
