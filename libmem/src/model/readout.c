/* The readout and the losses (generic: compiled as float and double).
 *   yhat_t = W_o z_t + b_o [+ D x_t] [+ beta_o ⊙ yhat_{t-1}],  beta_o = σ(output_beta_logit)
 * With output memory the previous (pre-softmax) output is state, carried like the cell's. */
#define MEM_GENERIC_SOURCE
#include "cells/cell_util.h"
#include "kernels/gemm.h"
#include "model/net.h"

void MEM_FN(mem_readout_forward)(const mem_net *net, int64_t T, int64_t B, const mem_real *x, const mem_real *z,
                                 const int64_t *len, mem_real *ro_states, mem_real *yhat) {
    const mem_arch *a = net->arch;
    const int64_t O = a->n_outputs, H = a->hidden, I = a->n_inputs, TB = T * B;
    const mem_real *W = net->w + a->params[a->ro_w].offset;
    const mem_real *bias = net->w + a->params[a->ro_b].offset;
    mem_gemm_real(0, 1, TB, O, H, MEM_R(1), z, H, W, H, MEM_R(0), yhat, O, net->n_threads);
    if (a->ro_d >= 0) {
        const mem_real *D = net->w + a->params[a->ro_d].offset;
        mem_gemm_real(0, 1, TB, O, I, MEM_R(1), x, I, D, I, MEM_R(1), yhat, O, net->n_threads);
    }
    for (int64_t r = 0; r < TB; r++)
        for (int64_t o = 0; o < O; o++) yhat[r * O + o] += bias[o];
    if (a->ro_beta < 0) return;
    const mem_real *logit = net->w + a->params[a->ro_beta].offset;
    for (int64_t t = 0; t < T; t++) {
        for (int64_t lane = 0; lane < B; lane++) {
            const mem_real *prev = ro_states + (t * B + lane) * O;
            mem_real *next = ro_states + ((t + 1) * B + lane) * O;
            mem_real *y = yhat + (t * B + lane) * O;
            if (mem_lane_held(len, t, lane)) {
                memcpy(next, prev, (size_t)O * sizeof *next);
                memcpy(y, prev, (size_t)O * sizeof *y);
                continue;
            }
            for (int64_t o = 0; o < O; o++) {
                y[o] += mr_sigmoid(logit[o]) * prev[o];
                next[o] = y[o];
            }
        }
    }
}

void MEM_FN(mem_readout_backward)(mem_net *net, int64_t T, int64_t B, const mem_real *x, const mem_real *z,
                                  const int64_t *len, const mem_real *ro_states, mem_real *dyhat,
                                  mem_real *d_ro_state, mem_real *dz) {
    const mem_arch *a = net->arch;
    const int64_t O = a->n_outputs, H = a->hidden, I = a->n_inputs, TB = T * B;
    if (a->ro_beta >= 0) {
        /* Reverse scan of the output recurrence: dyhat becomes the gradient of the linear part. */
        const mem_real *logit = net->w + a->params[a->ro_beta].offset;
        mem_real *g_logit = net->g + a->params[a->ro_beta].offset;
        for (int64_t o = 0; o < O; o++) {
            const mem_real beta = mr_sigmoid(logit[o]);
            mem_real d_beta = 0;
            for (int64_t lane = 0; lane < B; lane++) {
                mem_real carry = d_ro_state[lane * O + o];
                for (int64_t t = T - 1; t >= 0; t--) {
                    mem_real *d = dyhat + (t * B + lane) * O + o;
                    mem_real total = *d + carry;
                    if (mem_lane_held(len, t, lane)) {
                        *d = 0;
                        carry = total;
                        continue;
                    }
                    *d = total;
                    d_beta += total * ro_states[(t * B + lane) * O + o];
                    carry = beta * total;
                }
                d_ro_state[lane * O + o] = carry;
            }
            g_logit[o] += d_beta * beta * (MEM_R(1) - beta);
        }
    }
    mem_real *gW = net->g + a->params[a->ro_w].offset;
    mem_real *gb = net->g + a->params[a->ro_b].offset;
    const mem_real *W = net->w + a->params[a->ro_w].offset;
    mem_gemm_real(1, 0, O, H, TB, MEM_R(1), dyhat, O, z, H, MEM_R(1), gW, H, net->n_threads);
    mem_column_sums_add(dyhat, TB, O, O, gb);
    if (a->ro_d >= 0) {
        mem_real *gD = net->g + a->params[a->ro_d].offset;
        mem_gemm_real(1, 0, O, I, TB, MEM_R(1), dyhat, O, x, I, MEM_R(1), gD, I, net->n_threads);
    }
    mem_gemm_real(0, 0, TB, H, O, MEM_R(1), dyhat, O, W, H, MEM_R(0), dz, H, net->n_threads);
}

void MEM_FN(mem_softmax_rows)(mem_real *rows, int64_t n, int64_t width) {
    for (int64_t r = 0; r < n; r++) {
        mem_real *p = rows + r * width;
        mem_real mx = p[0];
        for (int64_t o = 1; o < width; o++) mx = p[o] > mx ? p[o] : mx;
        mem_real s = 0;
        for (int64_t o = 0; o < width; o++) {
            p[o] = mr_exp(p[o] - mx);
            s += p[o];
        }
        for (int64_t o = 0; o < width; o++) p[o] /= s;
    }
}

double MEM_FN(mem_loss)(const mem_arch *a, int64_t T, int64_t B, const mem_real *yhat, const mem_real *y,
                        const mem_real *weight, double norm, mem_real *dyhat) {
    const int64_t O = a->n_outputs, TB = T * B;
    double total = 0;
    if (a->loss == MEM_LOSS_CE) {
        for (int64_t r = 0; r < TB; r++) {
            const mem_real w = weight ? weight[r] : MEM_R(1);
            const mem_real *p = yhat + r * O;
            const int64_t cls = (int64_t)y[r];
            if (w != 0) {
                /* the floor keeps log finite when a probability underflows to 0 */
                double pc = (double)p[cls];
                total += (double)w * -log(pc > 1e-300 ? pc : 1e-300);
            }
            if (dyhat) {
                const mem_real scale = (mem_real)(w / norm);
                for (int64_t o = 0; o < O; o++) dyhat[r * O + o] = scale * (p[o] - (o == cls ? MEM_R(1) : MEM_R(0)));
            }
        }
    } else {
        for (int64_t r = 0; r < TB; r++) {
            const mem_real w = weight ? weight[r] : MEM_R(1);
            const mem_real scale = (mem_real)(2.0 * w / norm);
            for (int64_t o = 0; o < O; o++) {
                mem_real e = yhat[r * O + o] - y[r * O + o];
                if (w != 0) total += (double)w * (double)e * (double)e;
                if (dyhat) dyhat[r * O + o] = scale * e;
            }
        }
    }
    return total / norm;
}
