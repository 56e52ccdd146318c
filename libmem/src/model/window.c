/* The window engine (generic): runs the cell and the readout over one window of a minibatch,
 * computes the loss, and backpropagates exactly through the whole window. When the window's cache
 * would exceed the budget (seg_len < T) the window is cut into segments: the first pass keeps only
 * each segment's start state; the backward pass recomputes a segment's cache from it. The
 * recomputation repeats the same operations; only the parameter-gradient sums are split by
 * segment, so they round differently from the cached run (the segment length depends on the
 * memory budget and the batch, never on the thread count, so runs stay deterministic). */
#define MEM_GENERIC_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cells/cell_util.h"
#include "core/error.h"
#include "model/net.h"

/* Reals per step of a segment's cache and scratch, for B lanes: the per-step part of the layout in
 * mem_window_run (states, projections, cache, z, yhat, dz with dyhat after it, backward scratch). */
int64_t MEM_FN(mem_window_reals_per_step)(const mem_arch *a, int64_t B) {
    const int64_t R = a->state_dim - a->cell_state_dim, H = a->hidden, O = a->n_outputs;
    return B * (a->cell_state_dim + R + a->proj_per_step + a->extra_per_step + H + O + (H > O ? H : O) + O +
                a->bwd_per_step);
}

void MEM_FN(mem_workspace_free)(mem_workspace *ws) {
    free(ws->buf);
    free(ws->lens);
    memset(ws, 0, sizeof *ws);
}

static mem_status reserve(mem_workspace *ws, int64_t reals, int64_t lanes) {
    if (reals > ws->cap) {
        mem_real *p = realloc(ws->buf, (size_t)reals * sizeof *p);
        if (!p) return mem_fail(MEM_ERR_NOMEM, "cannot allocate a %lld-byte training workspace",
                                (long long)(reals * (int64_t)sizeof *p));
        ws->buf = p;
        ws->cap = reals;
    }
    if (lanes > ws->lens_cap) {
        int64_t *p = realloc(ws->lens, (size_t)lanes * sizeof *p);
        if (!p) return mem_fail(MEM_ERR_NOMEM, "cannot allocate lane lengths");
        ws->lens = p;
        ws->lens_cap = lanes;
    }
    return MEM_OK;
}

typedef struct segment_bufs {
    mem_real *cell_states, *ro_states, *proj, *extra, *z, *yhat, *dz, *scratch, *d_state, *starts;
} segment_bufs;

/* Moves a lane-major state (B x state_dim) into / out of slot `slot` of the split slot arrays. */
static void state_to_slot(const mem_arch *a, int64_t B, const mem_real *state, segment_bufs *s, int64_t slot) {
    const int64_t S = a->cell_state_dim, R = a->state_dim - S;
    for (int64_t lane = 0; lane < B; lane++) {
        memcpy(s->cell_states + (slot * B + lane) * S, state + lane * a->state_dim, (size_t)S * sizeof(mem_real));
        if (R) memcpy(s->ro_states + (slot * B + lane) * R, state + lane * a->state_dim + S, (size_t)R * sizeof(mem_real));
    }
}

static void slot_to_state(const mem_arch *a, int64_t B, const segment_bufs *s, int64_t slot, mem_real *state) {
    const int64_t S = a->cell_state_dim, R = a->state_dim - S;
    for (int64_t lane = 0; lane < B; lane++) {
        memcpy(state + lane * a->state_dim, s->cell_states + (slot * B + lane) * S, (size_t)S * sizeof(mem_real));
        if (R) memcpy(state + lane * a->state_dim + S, s->ro_states + (slot * B + lane) * R, (size_t)R * sizeof(mem_real));
    }
}

/* Valid steps of each lane within segment [t0, t0 + C), or NULL when every lane is full. */
static const int64_t *segment_lengths(const mem_window *win, int64_t t0, int64_t C, mem_workspace *ws) {
    if (!win->len) return NULL;
    for (int64_t lane = 0; lane < win->B; lane++) {
        int64_t l = win->len[lane] - t0;
        ws->lens[lane] = l < 0 ? 0 : (l > C ? C : l);
    }
    return ws->lens;
}

/* Forward of steps [t0, t0 + C) from the state in slot 0; outputs in s->yhat (probabilities for CE). */
static double forward_segment(mem_net *net, const mem_cell_ops *ops, const mem_window *win, int64_t t0, int64_t C,
                              const int64_t *len, segment_bufs *s) {
    const mem_arch *a = net->arch;
    const int64_t B = win->B, I = a->n_inputs, O = a->n_outputs;
    const mem_real *x = win->x + t0 * B * I;
    ops->forward(net, C, B, x, len, s->cell_states, s->proj, s->extra, s->z);
    MEM_FN(mem_readout_forward)(net, C, B, x, s->z, len, s->ro_states, s->yhat);
    const int64_t ycols = a->loss == MEM_LOSS_CE ? 1 : O;
    const mem_real *y = win->y ? win->y + t0 * B * ycols : NULL;
    const mem_real *w = win->weight ? win->weight + t0 * B : NULL;
    if (a->loss == MEM_LOSS_CE) MEM_FN(mem_softmax_rows)(s->yhat, C * B, O);
    if (!y) return 0.0;
    double loss = MEM_FN(mem_loss)(a, C, B, s->yhat, y, w, win->norm, NULL);
    if (ops->aux_loss) loss += ops->aux_loss(net, C, B, len, s->cell_states, s->extra) * net->aux_scale;
    return loss;
}

mem_status MEM_FN(mem_window_run)(mem_net *net, const mem_cell_ops *ops, const mem_window *win, mem_real *state,
                                  mem_real *yhat, double *loss_sum, int want_grad, mem_real *d_state0,
                                  int64_t seg_len, mem_workspace *ws) {
    const mem_arch *a = net->arch;
    const int64_t T = win->T, B = win->B, O = a->n_outputs, H = a->hidden;
    const int64_t S = a->cell_state_dim, R = a->state_dim - S, SD = a->state_dim;
    const int64_t C = seg_len > 0 && seg_len < T ? seg_len : T;
    const int64_t n_seg = (T + C - 1) / C;
    const int checkpointed = want_grad && n_seg > 1;

    /* Layout of one segment's buffers. */
    const int64_t dz_reals = C * B * (H > O ? H : O) + C * B * O; /* dz, then dyhat */
    int64_t need = (C + 1) * B * S + (C + 1) * B * R + C * B * a->proj_per_step + a->per_window +
                   C * B * a->extra_per_step + C * B * H + C * B * O + dz_reals + C * B * a->bwd_per_step +
                   mem_lane_blocks(B) * a->grad_per_block + B * SD + (checkpointed ? n_seg * B * SD : 0);
    MEM_CHECK(reserve(ws, need, B));
    segment_bufs s;
    mem_real *p = ws->buf;
    s.cell_states = p, p += (C + 1) * B * S;
    s.ro_states = p, p += (C + 1) * B * R;
    s.proj = p, p += C * B * a->proj_per_step + a->per_window;
    s.extra = p, p += C * B * a->extra_per_step;
    s.z = p, p += C * B * H;
    s.yhat = p, p += C * B * O;
    s.dz = p, p += dz_reals;
    s.scratch = p, p += C * B * a->bwd_per_step + mem_lane_blocks(B) * a->grad_per_block;
    s.d_state = p, p += B * SD;
    s.starts = checkpointed ? p : NULL;
    mem_real *dyhat = s.dz + C * B * (H > O ? H : O); /* the loss gradient, consumed by the readout */

    /* The auxiliary losses' normaliser: the given one, or the window's valid lane-steps. */
    double aux_norm = win->aux_norm;
    if (aux_norm <= 0) {
        aux_norm = 0;
        for (int64_t lane = 0; lane < B; lane++) aux_norm += (double)mem_lane_valid_steps(win->len, T, lane);
    }
    net->aux_scale = win->y && aux_norm > 0 ? 1.0 / aux_norm : 0.0;

    double loss = 0;
    /* Forward pass over all segments (the only pass when no gradient is wanted, or when the whole
     * window fits; then its caches are still in place for backward). */
    for (int64_t seg = 0; seg < n_seg; seg++) {
        const int64_t t0 = seg * C, Cs = t0 + C <= T ? C : T - t0;
        const int64_t *len = segment_lengths(win, t0, Cs, ws);
        if (checkpointed) memcpy(s.starts + seg * B * SD, state, (size_t)(B * SD) * sizeof *state);
        state_to_slot(a, B, state, &s, 0);
        loss += forward_segment(net, ops, win, t0, Cs, len, &s);
        if (net->stats && ops->stats) ops->stats(net, Cs, B, len, s.proj, s.extra, net->stats);
        if (yhat) memcpy(yhat + t0 * B * O, s.yhat, (size_t)(Cs * B * O) * sizeof *yhat);
        slot_to_state(a, B, &s, Cs, state);
    }
    if (loss_sum) *loss_sum = loss;
    if (!want_grad) return MEM_OK;

    /* State gradients, lane-major: the cell's (B x S) and the readout's (B x R). */
    mem_real *dcs = s.d_state, *drs = s.d_state + B * S;
    memset(s.d_state, 0, (size_t)(B * SD) * sizeof *s.d_state);
    const int64_t ycols = a->loss == MEM_LOSS_CE ? 1 : O;
    for (int64_t seg = n_seg - 1; seg >= 0; seg--) {
        const int64_t t0 = seg * C, Cs = t0 + C <= T ? C : T - t0;
        const int64_t *len = segment_lengths(win, t0, Cs, ws);
        if (checkpointed) {
            state_to_slot(a, B, s.starts + seg * B * SD, &s, 0);
            forward_segment(net, ops, win, t0, Cs, len, &s);
        }
        if (win->y) {
            MEM_FN(mem_loss)(a, Cs, B, s.yhat, win->y + t0 * B * ycols, win->weight ? win->weight + t0 * B : NULL,
                             win->norm, dyhat);
        } else {
            memset(dyhat, 0, (size_t)(Cs * B * O) * sizeof *dyhat);
        }
        const mem_real *x = win->x + t0 * B * a->n_inputs;
        MEM_FN(mem_readout_backward)(net, Cs, B, x, s.z, len, s.ro_states, dyhat, drs, s.dz);
        ops->backward(net, Cs, B, x, len, s.cell_states, s.proj, s.extra, s.dz, dcs, s.scratch);
    }
    if (d_state0) {
        for (int64_t lane = 0; lane < B; lane++) {
            memcpy(d_state0 + lane * SD, dcs + lane * S, (size_t)S * sizeof *dcs);
            if (R) memcpy(d_state0 + lane * SD + S, drs + lane * R, (size_t)R * sizeof *drs);
        }
    }
    return MEM_OK;
}
