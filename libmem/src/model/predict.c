/* Inference: predictions and evaluation loss, with the model's stored memory or an explicit
 * state (the stateless, thread-safe serving variant). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/data.h"
#include "model/model.h"

#define INFER_SEGMENT 256 /* cached steps per segment: inference memory stays bounded */
#define INFER_LANES 64    /* sequences evaluated together */
#define INFER_WINDOW 1024 /* steps of sequences gathered at once */

static mem_status check_out(const mem_arch *a, const mem_data *d, int64_t capacity, const char *fn) {
    const int64_t O = a->n_outputs;
    const int64_t need = d->target == MEM_TARGET_LAST ? d->n_seq * O : d->n_seq * d->max_len * O;
    if (capacity < need)
        return mem_fail(MEM_ERR_SHAPE, "%s: out_capacity=%lld, the predictions need %lld floats", fn,
                        (long long)capacity, (long long)need);
    return MEM_OK;
}

/* Loss normaliser of the whole data set: every target element (MSE) or target step (CE). */
static double target_norm(const mem_arch *a, const mem_data *d) {
    double count = 0;
    if (d->target == MEM_TARGET_LAST) count = (double)d->n_seq;
    else
        for (int64_t s = 0; s < d->n_seq; s++) count += (double)(d->lengths ? d->lengths[s] : d->max_len);
    return count * (a->loss == MEM_LOSS_CE ? 1.0 : (double)a->n_outputs);
}

typedef struct inference {
    mem_net_f32 *net;
    const mem_cell_ops_f32 *ops;
    mem_workspace_f32 *ws;
    const mem_data *d;
    float *out;   /* may be NULL */
    double loss;  /* accumulated mean loss when d->y is set */
} inference;

/* A stream is already time-major with one lane: it runs in place, from and back into `state`. */
static mem_status infer_stream(inference *inf, float *state) {
    const mem_data *d = inf->d;
    mem_window_f32 win = {d->max_len, 1, d->x, d->y, NULL, NULL, target_norm(inf->net->arch, d)};
    return mem_window_run_f32(inf->net, inf->ops, &win, state, inf->out, d->y ? &inf->loss : NULL, 0, NULL,
                              INFER_SEGMENT, inf->ws);
}

/* Sequences: groups of lanes from zero state, gathered window by window. */
static mem_status infer_sequences(inference *inf) {
    const mem_arch *a = inf->net->arch;
    const mem_data *d = inf->d;
    const int64_t I = a->n_inputs, O = a->n_outputs, ycols = mem_target_cols(a), SD = a->state_dim;
    const int64_t lanes_max = d->n_seq < INFER_LANES ? d->n_seq : INFER_LANES;
    const int64_t W = d->max_len < INFER_WINDOW ? d->max_len : INFER_WINDOW;
    const double norm = target_norm(a, d);
    double steps = 0; /* every valid step of the data: auxiliary losses average over all of them */
    for (int64_t q = 0; q < d->n_seq; q++) steps += (double)(d->lengths ? d->lengths[q] : d->max_len);
    const size_t reals = (size_t)(W * lanes_max * (I + ycols + 1 + O) + lanes_max * SD);
    float *buf = malloc(reals * sizeof *buf);
    int64_t *lens = malloc((size_t)lanes_max * sizeof *lens);
    mem_lane *lanes = malloc((size_t)lanes_max * sizeof *lanes);
    mem_status s = MEM_OK;
    if (!buf || !lens || !lanes) s = mem_fail(MEM_ERR_NOMEM, "cannot allocate %zu bytes for inference", reals * 4);
    float *x_win = buf, *y_win = buf ? x_win + W * lanes_max * I : NULL;
    float *weight = y_win ? y_win + W * lanes_max * ycols : NULL;
    float *yhat = weight ? weight + W * lanes_max : NULL, *state = yhat ? yhat + W * lanes_max * O : NULL;
    for (int64_t s0 = 0; s == MEM_OK && s0 < d->n_seq; s0 += lanes_max) {
        const int64_t B = s0 + lanes_max <= d->n_seq ? lanes_max : d->n_seq - s0;
        int64_t longest = 0;
        for (int64_t b = 0; b < B; b++) {
            lanes[b].seq = s0 + b;
            lanes[b].start = 0;
            lanes[b].len = d->lengths ? d->lengths[s0 + b] : d->max_len;
            longest = lanes[b].len > longest ? lanes[b].len : longest;
        }
        memset(state, 0, (size_t)(B * SD) * sizeof *state);
        for (int64_t t0 = 0; s == MEM_OK && t0 < longest; t0 += W) {
            const int64_t T = t0 + W <= longest ? W : longest - t0;
            mem_gather_window(a, d, lanes, B, t0, T, x_win, d->y ? y_win : NULL, weight, lens);
            mem_window_f32 win = {T, B, x_win, d->y ? y_win : NULL, d->y ? weight : NULL, lens, norm, steps};
            double loss = 0;
            s = mem_window_run_f32(inf->net, inf->ops, &win, state, yhat, &loss, 0, NULL, INFER_SEGMENT, inf->ws);
            inf->loss += loss;
            if (s != MEM_OK || !inf->out) continue;
            for (int64_t b = 0; b < B; b++) {
                const mem_lane *ln = &lanes[b];
                for (int64_t t = 0; t < T; t++) {
                    const int64_t step = t0 + t;
                    const float *src = yhat + (t * B + b) * O;
                    if (d->target == MEM_TARGET_LAST) {
                        if (step == ln->len - 1) memcpy(inf->out + ln->seq * O, src, (size_t)O * sizeof *src);
                    } else {
                        float *dst = inf->out + (ln->seq * d->max_len + step) * O;
                        if (step < ln->len) memcpy(dst, src, (size_t)O * sizeof *src);
                        else memset(dst, 0, (size_t)O * sizeof *dst);
                    }
                }
            }
        }
        /* steps beyond this group's longest sequence are padding: predicted as 0 */
        for (int64_t b = 0; inf->out && d->target == MEM_TARGET_PER_STEP && b < B; b++)
            memset(inf->out + ((s0 + b) * d->max_len + longest) * O, 0,
                   (size_t)((d->max_len - longest) * O) * sizeof(float));
    }
    free(buf);
    free(lens);
    free(lanes);
    return s;
}

/* Sequences always start from zero state: asking them to continue the memory is an error. */
static mem_status check_reset(const mem_data *d, int reset_memory, const char *fn) {
    if (d->layout == MEM_LAYOUT_SEQUENCES && !reset_memory)
        return mem_fail(MEM_ERR_ARG, "%s: sequences always start from zero state; reset_memory=0 is only for streams",
                        fn);
    return MEM_OK;
}

static mem_status run(mem_model *m, const mem_data *d, int reset_memory, float *out, double *loss) {
    inference inf = {&m->net, m->ops, &m->ws, d, out, 0};
    mem_status s;
    if (d->layout == MEM_LAYOUT_STREAM && reset_memory) mem_model_reset_memory(m);
    mem_model_stats_begin(m);
    if (d->layout == MEM_LAYOUT_STREAM) s = infer_stream(&inf, m->memory);
    else s = infer_sequences(&inf);
    mem_model_stats_end(m, s == MEM_OK);
    if (loss) *loss = inf.loss;
    return s;
}

mem_status mem_model_predict(mem_model *m, const mem_data *d, int reset_memory, float *out, int64_t out_capacity) {
    MEM_CHECK(mem_data_check(m, d, 0, "mem_model_predict"));
    MEM_REQUIRE_ARG(out, "mem_model_predict");
    MEM_CHECK(check_out(&m->arch, d, out_capacity, "mem_model_predict"));
    MEM_CHECK(check_reset(d, reset_memory, "mem_model_predict"));
    mem_data x_only = *d;
    x_only.y = NULL;
    return run(m, &x_only, reset_memory, out, NULL);
}

mem_status mem_model_loss(mem_model *m, const mem_data *d, int reset_memory, double *out_loss) {
    MEM_CHECK(mem_data_check(m, d, 1, "mem_model_loss"));
    MEM_REQUIRE_ARG(out_loss, "mem_model_loss");
    MEM_CHECK(check_reset(d, reset_memory, "mem_model_loss"));
    return run(m, d, reset_memory, NULL, out_loss);
}

mem_status mem_model_predict_with_state(const mem_model *m, const mem_data *d, void *state, int64_t state_bytes,
                                        float *out, int64_t out_capacity) {
    MEM_CHECK(mem_data_check(m, d, 0, "mem_model_predict_with_state"));
    MEM_REQUIRE_ARG(state, "mem_model_predict_with_state");
    MEM_REQUIRE_ARG(out, "mem_model_predict_with_state");
    MEM_CHECK(check_out(&m->arch, d, out_capacity, "mem_model_predict_with_state"));
    if (d->layout != MEM_LAYOUT_STREAM)
        return mem_fail(MEM_ERR_ARG, "mem_model_predict_with_state: takes a stream (sequences carry no state; use "
                                     "mem_model_predict)");
    const int64_t need = m->arch.state_dim * (int64_t)sizeof(float);
    if (state_bytes != need)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_predict_with_state: state_bytes=%lld, the state is %lld bytes",
                        (long long)state_bytes, (long long)need);
    const float *in = state;
    for (int64_t i = 0; i < m->arch.state_dim; i++)
        if (!isfinite(in[i]))
            return mem_fail(MEM_ERR_ARG, "mem_model_predict_with_state: state value %lld is %g (must be finite)",
                            (long long)i, (double)in[i]);
    /* A private view of the weights and a private workspace: the model is only read. */
    mem_net_f32 net = m->net;
    net.g = NULL;
    net.stats = NULL;
    mem_workspace_f32 ws = {0};
    mem_data x_only = *d;
    x_only.y = NULL;
    inference inf = {&net, m->ops, &ws, &x_only, out, 0};
    mem_status s = infer_stream(&inf, state);
    mem_workspace_free_f32(&ws);
    return s;
}

/* Per-step states: the lanes advance one step per window (a window of one step runs the same cell
 * operations as a longer one), and after every step the recorded tensor (offset `off`, `k` floats
 * of the per-lane state) of each lane is copied out; steps past a lane's length are 0. */
static mem_status record_states(mem_model *m, const mem_data *d, int64_t off, int64_t k, float *out) {
    const mem_arch *a = &m->arch;
    const int64_t I = a->n_inputs, SD = a->state_dim, T = d->max_len;
    const int stream = d->layout == MEM_LAYOUT_STREAM;
    const int64_t lanes_max = d->n_seq < INFER_LANES ? d->n_seq : INFER_LANES;
    float *buf = malloc((size_t)(lanes_max * (I + (stream ? 0 : SD))) * sizeof *buf);
    int64_t *lens = malloc((size_t)lanes_max * sizeof *lens);
    mem_lane *lanes = malloc((size_t)lanes_max * sizeof *lanes);
    mem_status s = MEM_OK;
    if (!buf || !lens || !lanes) s = mem_fail(MEM_ERR_NOMEM, "mem_model_predict_states: cannot allocate buffers");
    for (int64_t s0 = 0; s == MEM_OK && s0 < d->n_seq; s0 += lanes_max) {
        const int64_t B = s0 + lanes_max <= d->n_seq ? lanes_max : d->n_seq - s0;
        float *state = stream ? m->memory : buf + lanes_max * I;
        if (!stream) memset(state, 0, (size_t)(B * SD) * sizeof *state);
        for (int64_t b = 0; b < B; b++) lanes[b] = (mem_lane){.seq = s0 + b, .start = 0,
                                                             .len = d->lengths ? d->lengths[s0 + b] : T};
        for (int64_t t = 0; s == MEM_OK && t < T; t++) {
            mem_gather_window(a, d, lanes, B, t, 1, buf, NULL, NULL, lens);
            mem_window_f32 win = {1, B, buf, NULL, NULL, lens, 1.0, 0.0};
            s = mem_window_run_f32(&m->net, m->ops, &win, state, NULL, NULL, 0, NULL, 0, &m->ws);
            for (int64_t b = 0; s == MEM_OK && b < B; b++) {
                float *dst = out + ((s0 + b) * T + t) * k;
                if (lens[b]) memcpy(dst, state + b * SD + off, (size_t)k * sizeof *dst);
                else memset(dst, 0, (size_t)k * sizeof *dst);
            }
        }
    }
    free(buf);
    free(lens);
    free(lanes);
    return s;
}

mem_status mem_model_predict_states(mem_model *m, const mem_data *d, int reset_memory, const char *state, float *out,
                                    int64_t out_capacity) {
    const char *fn = "mem_model_predict_states";
    MEM_CHECK(mem_data_check(m, d, 0, fn));
    MEM_REQUIRE_ARG(out, fn);
    MEM_CHECK(check_reset(d, reset_memory, fn));
    const mem_arch *a = &m->arch;
    int64_t off = 0, k = a->state_dim;
    if (state) {
        int i = 0;
        while (i < a->n_states && strcmp(a->states[i].name, state) != 0) i++;
        if (i == a->n_states) {
            char names[256];
            size_t used = 0;
            names[0] = '\0';
            for (int j = 0; j < a->n_states && used + 40 < sizeof names; j++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "", a->states[j].name);
            return mem_fail(MEM_ERR_ARG, "%s: no state tensor '%s' in this %s model (known: %s)", fn, state,
                            m->kind->name, names);
        }
        off = a->states[i].offset;
        k = a->states[i].size;
    }
    const int64_t need = d->n_seq * d->max_len * k;
    if (out_capacity < need)
        return mem_fail(MEM_ERR_SHAPE, "%s: out_capacity=%lld, the states need %lld floats", fn,
                        (long long)out_capacity, (long long)need);
    if (d->layout == MEM_LAYOUT_STREAM && reset_memory) mem_model_reset_memory(m);
    mem_model_stats_begin(m);
    mem_status s = record_states(m, d, off, k, out);
    mem_model_stats_end(m, s == MEM_OK);
    return s;
}

int64_t mem_model_weight_count(const mem_model *m) { return m ? m->arch.n_weights : -1; }

mem_status mem_model_loss_gradient(mem_model *m, const mem_data *d, int reset_memory, double *out_loss, float *grad,
                                   int64_t capacity) {
    MEM_CHECK(mem_data_check(m, d, 1, "mem_model_loss_gradient"));
    MEM_REQUIRE_ARG(grad, "mem_model_loss_gradient");
    MEM_CHECK(check_reset(d, reset_memory, "mem_model_loss_gradient"));
    const mem_arch *a = &m->arch;
    if (capacity < a->n_weights)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_loss_gradient: capacity=%lld, the model has %lld weights",
                        (long long)capacity, (long long)a->n_weights);
    const int64_t B = d->n_seq, T = d->max_len, I = a->n_inputs, ycols = mem_target_cols(a), SD = a->state_dim;
    const int64_t reals = T * B * (I + ycols + 1) + B * SD;
    float *buf = malloc((size_t)reals * sizeof *buf);
    int64_t *lens = malloc((size_t)B * sizeof *lens);
    mem_lane *lanes = malloc((size_t)B * sizeof *lanes);
    mem_status s = MEM_OK;
    if (!buf || !lens || !lanes) s = mem_fail(MEM_ERR_NOMEM, "mem_model_loss_gradient: cannot allocate %lld bytes",
                                              (long long)(reals * 4));
    if (s == MEM_OK) {
        float *x = buf, *y = x + T * B * I, *weight = y + T * B * ycols, *state = weight + T * B;
        for (int64_t b = 0; b < B; b++) {
            lanes[b].seq = b;
            lanes[b].start = 0;
            lanes[b].len = d->lengths ? d->lengths[b] : T;
        }
        mem_gather_window(a, d, lanes, B, 0, T, x, y, weight, lens);
        if (d->layout == MEM_LAYOUT_STREAM && !reset_memory) memcpy(state, m->memory, (size_t)SD * sizeof *state);
        else memset(state, 0, (size_t)(B * SD) * sizeof *state);
        mem_window_f32 win = {T, B, x, y, weight, d->lengths ? lens : NULL, target_norm(a, d)};
        memset(m->net.g, 0, (size_t)a->n_weights * sizeof(float));
        double loss = 0;
        s = mem_window_run_f32(&m->net, m->ops, &win, state, NULL, &loss, 1, NULL, mem_model_segment_length(m, B),
                               &m->ws);
        if (s == MEM_OK) {
            memcpy(grad, m->net.g, (size_t)a->n_weights * sizeof(float));
            if (out_loss) *out_loss = loss;
        }
    }
    free(buf);
    free(lens);
    free(lanes);
    return s;
}
