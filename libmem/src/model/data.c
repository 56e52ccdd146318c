#include "model/data.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

int64_t mem_target_cols(const mem_arch *a) { return a->loss == MEM_LOSS_CE ? 1 : a->n_outputs; }

static int64_t seq_len(const mem_data *d, int64_t s) { return d->lengths ? d->lengths[s] : d->max_len; }

mem_status mem_data_check(const mem_model *m, const mem_data *d, int need_y, const char *fn) {
    MEM_REQUIRE_ARG(m, fn);
    MEM_REQUIRE_ARG(d, fn);
    if (!d->x) return mem_fail(MEM_ERR_ARG, "%s: data.x is NULL", fn);
    if (need_y && !d->y) return mem_fail(MEM_ERR_ARG, "%s: data.y is NULL (targets are needed)", fn);
    if (d->layout != MEM_LAYOUT_STREAM && d->layout != MEM_LAYOUT_SEQUENCES)
        return mem_fail(MEM_ERR_ARG, "%s: data.layout=%d is not MEM_LAYOUT_STREAM (0) or MEM_LAYOUT_SEQUENCES (1)", fn,
                        (int)d->layout);
    if (d->target != MEM_TARGET_PER_STEP && d->target != MEM_TARGET_LAST)
        return mem_fail(MEM_ERR_ARG, "%s: data.target=%d is not MEM_TARGET_PER_STEP (0) or MEM_TARGET_LAST (1)", fn,
                        (int)d->target);
    if (d->max_len < 1) return mem_fail(MEM_ERR_SHAPE, "%s: data.max_len=%lld must be >= 1", fn, (long long)d->max_len);
    if (d->layout == MEM_LAYOUT_STREAM) {
        if (d->n_seq != 1)
            return mem_fail(MEM_ERR_SHAPE, "%s: a stream has n_seq=1, got n_seq=%lld", fn, (long long)d->n_seq);
        if (d->target != MEM_TARGET_PER_STEP)
            return mem_fail(MEM_ERR_ARG, "%s: a stream has per-step targets (data.target=MEM_TARGET_PER_STEP)", fn);
        if (d->lengths) return mem_fail(MEM_ERR_ARG, "%s: a stream takes no lengths (data.lengths must be NULL)", fn);
    } else if (d->n_seq < 1) {
        return mem_fail(MEM_ERR_SHAPE, "%s: data.n_seq=%lld must be >= 1", fn, (long long)d->n_seq);
    }
    const int64_t I = m->arch.n_inputs, ycols = mem_target_cols(&m->arch);
    /* n_seq * max_len * max(I, ycols) must be addressable */
    const int64_t width = I > ycols ? I : ycols;
    if (d->max_len > INT64_MAX / d->n_seq || d->n_seq * d->max_len > INT64_MAX / 8 / width)
        return mem_fail(MEM_ERR_SHAPE, "%s: data of %lld x %lld steps is too large", fn, (long long)d->n_seq,
                        (long long)d->max_len);
    for (int64_t s = 0; d->lengths && s < d->n_seq; s++)
        if (d->lengths[s] < 1 || d->lengths[s] > d->max_len)
            return mem_fail(MEM_ERR_SHAPE, "%s: lengths[%lld]=%lld is out of range [1, %lld]", fn, (long long)s,
                            (long long)d->lengths[s], (long long)d->max_len);
    for (int64_t s = 0; s < d->n_seq; s++) {
        const float *xs = d->x + s * d->max_len * I;
        const int64_t n = seq_len(d, s) * I;
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(xs[k]))
                return mem_fail(MEM_ERR_ARG, "%s: x[%lld, %lld, %lld] is %g (inputs must be finite)", fn, (long long)s,
                                (long long)(k / I), (long long)(k % I), (double)xs[k]);
    }
    if (!d->y) return MEM_OK;
    const int per_step = d->target == MEM_TARGET_PER_STEP;
    for (int64_t s = 0; s < d->n_seq; s++) {
        const float *ys = d->y + s * (per_step ? d->max_len : 1) * ycols;
        const int64_t n = (per_step ? seq_len(d, s) : 1) * ycols;
        for (int64_t k = 0; k < n; k++) {
            const float v = ys[k];
            if (!isfinite(v))
                return mem_fail(MEM_ERR_ARG, "%s: target y[%lld, %lld] is %g (targets must be finite)", fn,
                                (long long)s, (long long)k, (double)v);
            if (m->arch.loss == MEM_LOSS_CE && (v != floorf(v) || v < 0 || v >= (float)m->arch.n_outputs))
                return mem_fail(MEM_ERR_ARG, "%s: class label y[%lld, %lld]=%g is not an integer in [0, %lld)", fn,
                                (long long)s, (long long)k, (double)v, (long long)m->arch.n_outputs);
        }
    }
    return MEM_OK;
}

int64_t mem_gather_window(const mem_arch *a, const mem_data *d, const mem_lane *lanes, int64_t B, int64_t t0,
                          int64_t T, float *x_win, float *y_win, float *weight, int64_t *lens) {
    const int64_t I = a->n_inputs, ycols = mem_target_cols(a);
    const int per_step = d->target == MEM_TARGET_PER_STEP;
    int64_t targets = 0;
    for (int64_t b = 0; b < B; b++) {
        const mem_lane *ln = &lanes[b];
        const int64_t valid = ln->len - t0 < 0 ? 0 : (ln->len - t0 > T ? T : ln->len - t0);
        lens[b] = valid;
        for (int64_t t = 0; t < T; t++) {
            float *xd = x_win + (t * B + b) * I;
            const int64_t step = ln->start + t0 + t;
            if (t < valid) memcpy(xd, d->x + (ln->seq * d->max_len + step) * I, (size_t)I * sizeof *xd);
            else memset(xd, 0, (size_t)I * sizeof *xd);
            if (!y_win) continue;
            float *yd = y_win + (t * B + b) * ycols;
            int counts = t < valid && (per_step || t0 + t == ln->len - 1);
            weight[t * B + b] = counts ? 1.0f : 0.0f;
            targets += counts;
            if (!counts) memset(yd, 0, (size_t)ycols * sizeof *yd);
            else if (per_step) memcpy(yd, d->y + (ln->seq * d->max_len + step) * ycols, (size_t)ycols * sizeof *yd);
            else memcpy(yd, d->y + ln->seq * ycols, (size_t)ycols * sizeof *yd);
        }
    }
    return targets;
}
