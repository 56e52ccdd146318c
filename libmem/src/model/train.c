/* Training (DESIGN §4): streams as parallel sub-streams with truncated BPTT and cross-epoch
 * carries, online training of the next chunk of a stream, shuffled minibatches of sequences;
 * AdamW / SGD with momentum, global-norm clipping, learning-rate schedules, freeze masks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/data.h"
#include "model/model.h"

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8
#define COSINE_FLOOR 0.02 /* the cosine schedule ends at 2 % of the base rate */

enum { OPT_ADAMW = 0, OPT_SGD = 1 };
enum { SCHEDULE_COSINE = 0, SCHEDULE_CONSTANT = 1 };

static double cfg(const mem_model *m, const char *key) { return mem_config_value(&m->cfg, key); }

static double epoch_learning_rate(const mem_model *m) {
    const double base = cfg(m, "learning_rate");
    if ((int)cfg(m, "lr_schedule") == SCHEDULE_CONSTANT) return base;
    const double epochs = cfg(m, "epochs");
    if (epochs <= 1) return base;
    double progress = (double)m->fit_epoch / (epochs - 1);
    if (progress > 1) progress = 1;
    return base * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + cos(3.14159265358979323846 * progress)));
}

/* Global L2 norm of the gradient over the trainable tensors, frozen entries included (DESIGN §4:
 * the freeze mask applies to the update, after clipping and the optimizer), summed sequentially:
 * deterministic. */
static double gradient_norm(const mem_model *m) {
    const mem_arch *a = &m->arch;
    double sum = 0;
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        if (!s->trainable) continue;
        for (int64_t i = s->offset; i < s->offset + s->size; i++) sum += (double)m->net.g[i] * (double)m->net.g[i];
    }
    return sqrt(sum);
}

/* One optimizer step with the gradient in net.g scaled by `scale`. Frozen entries are skipped
 * entirely: weight and moments stay bit-identical. */
static void optimizer_step(mem_model *m, double lr, double scale) {
    const mem_arch *a = &m->arch;
    const double wd = cfg(m, "weight_decay");
    float *w = m->net.w, *g = m->net.g;
    m->opt_step++;
    if ((int)cfg(m, "optimizer") == OPT_SGD) {
        const float mu = (float)cfg(m, "momentum");
        for (int p = 0; p < a->n_params; p++) {
            const mem_tensor_spec *s = &a->params[p];
            if (!s->trainable) continue;
            const float decay = s->decay ? (float)wd : 0.0f;
            for (int64_t i = s->offset; i < s->offset + s->size; i++) {
                if (m->frozen && m->frozen[i]) continue;
                float grad = (float)scale * g[i] + decay * w[i];
                m->opt_m[i] = mu * m->opt_m[i] + grad;
                w[i] -= (float)lr * m->opt_m[i];
            }
        }
        return;
    }
    const double bc1 = 1 - pow(ADAM_BETA1, (double)m->opt_step);
    const double bc2 = 1 - pow(ADAM_BETA2, (double)m->opt_step);
    const float step = (float)(lr / bc1), inv_bc2 = (float)(1 / bc2);
    const float b1 = (float)ADAM_BETA1, b2 = (float)ADAM_BETA2, eps = (float)ADAM_EPS;
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        if (!s->trainable) continue;
        const float decay = s->decay ? (float)(lr * wd) : 0.0f;
        for (int64_t i = s->offset; i < s->offset + s->size; i++) {
            if (m->frozen && m->frozen[i]) continue;
            const float grad = (float)scale * g[i];
            m->opt_m[i] = b1 * m->opt_m[i] + (1 - b1) * grad;
            m->opt_v[i] = b2 * m->opt_v[i] + (1 - b2) * grad * grad;
            w[i] = w[i] - decay * w[i] - step * m->opt_m[i] / (sqrtf(m->opt_v[i] * inv_bc2) + eps);
        }
    }
}

typedef struct train_run {
    mem_model *m;
    const mem_data *d;
    double lr;
    mem_progress_fn progress;
    void *user;
    int64_t batches_done, batches_total;
    double loss_weighted, targets;
} train_run;

/* After a non-finite loss or gradient: finds the first non-finite output of the window to name
 * the step, then fails with MEM_ERR_NUMERIC. Weights are untouched (no update was made). */
static mem_status report_non_finite(train_run *r, const mem_window_f32 *win, const float *state0,
                                    const mem_lane *lanes, int64_t t0, double loss, double norm) {
    mem_model *m = r->m;
    const int64_t B = win->B, T = win->T, O = m->arch.n_outputs, SD = m->arch.state_dim;
    float *yhat = malloc((size_t)(T * B * O) * sizeof *yhat);
    float *state = malloc((size_t)(B * SD) * sizeof *state);
    int64_t bad_t = -1, bad_b = -1;
    if (yhat && state) {
        memcpy(state, state0, (size_t)(B * SD) * sizeof *state);
        if (mem_window_run_f32(&m->net, m->ops, win, state, yhat, NULL, 0, NULL, 0, &m->ws) == MEM_OK) {
            for (int64_t t = 0; t < T && bad_t < 0; t++)
                for (int64_t b = 0; b < B && bad_t < 0; b++)
                    for (int64_t o = 0; o < O; o++)
                        if (!isfinite(yhat[(t * B + b) * O + o])) {
                            bad_t = t;
                            bad_b = b;
                            break;
                        }
        }
    }
    free(yhat);
    free(state);
    if (bad_t >= 0) {
        const mem_lane *ln = &lanes[bad_b];
        return mem_fail(MEM_ERR_NUMERIC,
                        "%s: non-finite output at step %lld of sequence %lld (loss=%g); training stopped, weights "
                        "kept at the last good minibatch",
                        m->kind->name, (long long)(ln->start + t0 + bad_t), (long long)ln->seq, loss);
    }
    return mem_fail(MEM_ERR_NUMERIC,
                    "%s: non-finite %s (loss=%g, gradient norm=%g) in a window of %lld steps; training stopped, "
                    "weights kept at the last good minibatch",
                    m->kind->name, isfinite(loss) ? "gradient" : "loss", loss, norm, (long long)T);
}

/* Trains lanes (B, state B x SD in/out) window by window, one update per window. */
static mem_status train_lanes(train_run *r, const mem_lane *lanes, int64_t B, float *state, int64_t bptt) {
    mem_model *m = r->m;
    const mem_arch *a = &m->arch;
    const int64_t I = a->n_inputs, ycols = mem_target_cols(a), SD = a->state_dim;
    int64_t max_len = 0;
    for (int64_t b = 0; b < B; b++) max_len = lanes[b].len > max_len ? lanes[b].len : max_len;
    const int64_t W = bptt > 0 && bptt < max_len ? bptt : max_len;
    MEM_CHECK(mem_model_reserve_batch(m, W * B * (I + ycols + 1) + B * SD, B));
    float *x_win = m->batch, *y_win = x_win + W * B * I, *weight = y_win + W * B * ycols;
    float *state0 = weight + W * B;
    const double clip = cfg(m, "clip_norm");
    const int64_t seg = mem_model_segment_length(m, B);
    for (int64_t t0 = 0; t0 < max_len; t0 += W) {
        const int64_t T = t0 + W <= max_len ? W : max_len - t0;
        const int64_t targets = mem_gather_window(a, r->d, lanes, B, t0, T, x_win, y_win, weight, m->lanes);
        const double norm = (double)targets * (a->loss == MEM_LOSS_CE ? 1 : (double)a->n_outputs);
        mem_window_f32 win = {T, B, x_win, y_win, weight, m->lanes, norm > 0 ? norm : 1};
        memcpy(state0, state, (size_t)(B * SD) * sizeof *state);
        memset(m->net.g, 0, (size_t)a->n_weights * sizeof(float));
        double loss = 0;
        MEM_CHECK(mem_window_run_f32(&m->net, m->ops, &win, state, NULL, &loss, targets > 0, NULL, seg, &m->ws));
        if (targets > 0) {
            const double gnorm = gradient_norm(m);
            if (!isfinite(loss) || !isfinite(gnorm)) return report_non_finite(r, &win, state0, lanes, t0, loss, gnorm);
            optimizer_step(m, r->lr, clip > 0 && gnorm > clip ? clip / gnorm : 1.0);
            m->updates++;
            r->loss_weighted += loss * (double)targets;
            r->targets += (double)targets;
        }
        r->batches_done++;
        if (r->progress && r->progress(r->user, r->batches_done, r->batches_total, loss) != 0)
            return mem_fail(MEM_ERR_CANCELLED, "mem_model_train_epoch: cancelled by the progress callback after %lld of "
                                               "%lld minibatches",
                            (long long)r->batches_done, (long long)r->batches_total);
    }
    return MEM_OK;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static mem_status train_stream(train_run *r, int online) {
    mem_model *m = r->m;
    const int64_t n_steps = r->d->max_len, SD = m->arch.state_dim;
    const int64_t bptt = cfg(m, "bptt") > 0 ? (int64_t)cfg(m, "bptt") : 32;
    int64_t n_sub = 1;
    if (!online) {
        n_sub = n_steps / (4 * bptt);
        const int64_t cap = (int64_t)cfg(m, "batch_size");
        n_sub = n_sub < 1 ? 1 : (n_sub > cap ? cap : n_sub);
        MEM_CHECK(mem_model_ensure_carry(m, n_sub, n_steps));
    }
    mem_lane *lanes = malloc((size_t)n_sub * sizeof *lanes);
    float *state = mem_alloc_zeroed((size_t)(n_sub * SD), sizeof(float));
    if (!lanes || !state) {
        free(lanes);
        mem_free_aligned(state);
        return mem_fail(MEM_ERR_NOMEM, "cannot allocate %lld sub-streams", (long long)n_sub);
    }
    const int64_t L = n_steps / n_sub;
    for (int64_t k = 0; k < n_sub; k++) {
        lanes[k].seq = 0;
        lanes[k].start = k * L;
        lanes[k].len = k == n_sub - 1 ? n_steps - k * L : L;
    }
    /* Sub-stream k starts where sub-stream k-1 ended last epoch; online training continues the memory. */
    memcpy(state, online ? m->memory : m->carry, (size_t)(n_sub * SD) * sizeof *state);
    r->batches_total = ceil_div(lanes[n_sub - 1].len, bptt);
    mem_status s = train_lanes(r, lanes, n_sub, state, bptt);
    if (s == MEM_OK) {
        if (!online)
            for (int64_t k = 1; k < n_sub; k++) memcpy(m->carry + k * SD, state + (k - 1) * SD, (size_t)SD * sizeof *state);
        memcpy(m->memory, state + (n_sub - 1) * SD, (size_t)SD * sizeof *state);
    }
    free(lanes);
    mem_free_aligned(state);
    return s;
}

static mem_status train_sequences(train_run *r) {
    mem_model *m = r->m;
    const mem_data *d = r->d;
    const int64_t n = d->n_seq, SD = m->arch.state_dim;
    const int64_t batch = (int64_t)cfg(m, "batch_size");
    const int64_t bptt = (int64_t)cfg(m, "bptt");
    int64_t *order = malloc((size_t)n * sizeof *order);
    mem_lane *lanes = malloc((size_t)(batch < n ? batch : n) * sizeof *lanes);
    float *state = mem_alloc_zeroed((size_t)((batch < n ? batch : n) * SD), sizeof(float));
    if (!order || !lanes || !state) {
        free(order);
        free(lanes);
        mem_free_aligned(state);
        return mem_fail(MEM_ERR_NOMEM, "cannot allocate minibatch indices for %lld sequences", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) order[i] = i;
    mem_rng_shuffle(&m->rng, order, n);
    /* batches_total counts windows: each minibatch has ceil(its longest length / bptt) of them */
    r->batches_total = 0;
    for (int64_t i0 = 0; i0 < n; i0 += batch) {
        int64_t longest = 0;
        for (int64_t i = i0; i < n && i < i0 + batch; i++) {
            int64_t l = d->lengths ? d->lengths[order[i]] : d->max_len;
            longest = l > longest ? l : longest;
        }
        r->batches_total += bptt > 0 ? ceil_div(longest, bptt) : 1;
    }
    mem_status s = MEM_OK;
    for (int64_t i0 = 0; i0 < n && s == MEM_OK; i0 += batch) {
        const int64_t B = i0 + batch <= n ? batch : n - i0;
        for (int64_t b = 0; b < B; b++) {
            lanes[b].seq = order[i0 + b];
            lanes[b].start = 0;
            lanes[b].len = d->lengths ? d->lengths[order[i0 + b]] : d->max_len;
        }
        memset(state, 0, (size_t)(B * SD) * sizeof *state);
        s = train_lanes(r, lanes, B, state, bptt);
    }
    free(order);
    free(lanes);
    mem_free_aligned(state);
    return s;
}

mem_status mem_model_train_epoch(mem_model *m, const mem_data *d, int flags, mem_progress_fn progress, void *user,
                                 double *out_loss) {
    MEM_CHECK(mem_data_check(m, d, 1, "mem_model_train_epoch"));
    if (flags & ~(MEM_TRAIN_RESTART_SCHEDULE | MEM_TRAIN_ONLINE))
        return mem_fail(MEM_ERR_ARG, "mem_model_train_epoch: flags=%d has unknown bits (known: MEM_TRAIN_RESTART_SCHEDULE=1, MEM_TRAIN_ONLINE=2)",
                        flags);
    const int online = (flags & MEM_TRAIN_ONLINE) != 0;
    if (online && d->layout != MEM_LAYOUT_STREAM)
        return mem_fail(MEM_ERR_ARG, "mem_model_train_epoch: MEM_TRAIN_ONLINE continues a stream; sequences are "
                                     "trained by epochs (flags=%d with MEM_LAYOUT_SEQUENCES)",
                        flags);
    MEM_CHECK(mem_model_ensure_optimizer(m));
    if (flags & MEM_TRAIN_RESTART_SCHEDULE) m->fit_epoch = 0;
    train_run r = {m, d, online ? cfg(m, "learning_rate") : epoch_learning_rate(m), progress, user, 0, 0, 0, 0};
    mem_model_stats_begin(m);
    mem_status s = d->layout == MEM_LAYOUT_STREAM ? train_stream(&r, online) : train_sequences(&r);
    mem_model_stats_end(m, s == MEM_OK);
    if (s != MEM_OK) return s;
    if (!online) {
        m->fit_epoch++;
        m->epochs_trained++;
    }
    if (out_loss) *out_loss = r.targets > 0 ? r.loss_weighted / r.targets : 0.0;
    return MEM_OK;
}
