/* The numerical core shared by the float library and the double test build: a network is the
 * arch tables plus flat parameter and gradient buffers; cells and the readout implement their
 * window forward/backward on it; the window engine runs them with loss and checkpointing.
 * Everything here is declared for both scalar types; generic .c files use MEM_FN(name). */
#ifndef MEM_MODEL_NET_H
#define MEM_MODEL_NET_H

#include <stdint.h>

#include "model/arch.h"

/* One window of a minibatch, time-major: element (t, lane) of x is x + (t * B + lane) * n_inputs. */
#define MEM_DECLARE_NET(T_, S_)                                                                       \
    typedef struct mem_net_##S_ {                                                                     \
        const mem_arch *arch;                                                                         \
        T_ *w;        /* parameters, laid out by arch->params[].offset */                             \
        T_ *g;        /* gradients, same layout (accumulated by backward) */                          \
        int n_threads;                                                                                \
        double *stats;  /* arch->n_stats running sums of the current call, or NULL: not collected */ \
        double aux_scale; /* set by the window engine: 1 / (lane-steps the auxiliary losses average \
                             over) when a loss is computed, else 0; a cell's backward scales the  \
                             gradient of its auxiliary loss by it */                              \
    } mem_net_##S_;                                                                                   \
                                                                                                      \
    typedef struct mem_cell_ops_##S_ {                                                                \
        /* states: (T+1) x B x S slots (S = arch->cell_state_dim); slot 0 is read, 1..T written.      \
         * proj: T x B x arch->proj_per_step scratch followed by arch->per_window reals (values the  \
         * cell derives from its parameters once per window, e.g. rates); extra: T x B x             \
         * arch->extra_per_step cache;                                                               \
         * z: T x B x H cell outputs. len: valid steps per lane in this window (NULL = all T);        \
         * a lane past its length holds its state. */                                                 \
        void (*forward)(const mem_net_##S_ *net, int64_t T, int64_t B, const T_ *x,                  \
                        const int64_t *len, T_ *states, T_ *proj, T_ *extra, T_ *z);                  \
        /* dz: T x B x H; d_state: B x S, in = gradient wrt slot T, out = wrt slot 0. Accumulates     \
         * parameter gradients into net->g. scratch: T x B x arch->bwd_per_step reals followed by     \
         * ceil(B / MEM_LANE_BLOCK) x arch->grad_per_block reals. */                                  \
        void (*backward)(mem_net_##S_ *net, int64_t T, int64_t B, const T_ *x, const int64_t *len,   \
                         const T_ *states, const T_ *proj, const T_ *extra, const T_ *dz,             \
                         T_ *d_state, T_ *scratch);                                                   \
        /* Optional (NULL when arch->n_stats is 0): adds the cell's per-call statistics of a          \
         * forward segment (e.g. sums of 1/λ and their count) to sums, sequentially (deterministic).  \
         * Diagnostics "over the last call" are built from them. */                                   \
        void (*stats)(const mem_net_##S_ *net, int64_t T, int64_t B, const int64_t *len,             \
                      const T_ *proj, const T_ *extra, double *sums);                                 \
        /* Optional (NULL: no auxiliary loss): the sum over the valid (step, lane) pairs of a forward \
         * segment of the cell's weighted per-step auxiliary loss (DESIGN §4: weight x per-step      \
         * mean). The engine divides it by the lane-steps of the loss and adds it; the cell's       \
         * backward adds its gradient scaled by net->aux_scale. */                                    \
        double (*aux_loss)(const mem_net_##S_ *net, int64_t T, int64_t B, const int64_t *len,        \
                           const T_ *states, const T_ *extra);                                        \
    } mem_cell_ops_##S_;                                                                              \
                                                                                                      \
    typedef struct mem_window_##S_ {                                                                  \
        int64_t T, B;                                                                                 \
        const T_ *x;         /* T x B x I */                                                          \
        const T_ *y;         /* T x B x (O for MSE, 1 for CE); NULL when no loss is wanted */         \
        const T_ *weight;    /* T x B: 1 where a target counts, 0 elsewhere */                        \
        const int64_t *len;  /* B valid lengths, NULL = all T */                                      \
        double norm;         /* loss normaliser: target elements (MSE) or target steps (CE) */       \
        double aux_norm;     /* lane-steps auxiliary losses average over (0: the window's valid ones) */ \
    } mem_window_##S_;                                                                                \
                                                                                                      \
    /* Reusable buffers of the window engine; grown on demand, never shrunk. */                      \
    typedef struct mem_workspace_##S_ {                                                               \
        T_ *buf;                                                                                      \
        int64_t cap;                                                                                  \
        int64_t *lens;                                                                                \
        int64_t lens_cap;                                                                             \
    } mem_workspace_##S_;                                                                             \
                                                                                                      \
    /* The readout (model-owned): yhat = W_o z + b_o [+ D x] [+ beta_o * previous yhat]; ro_states  \
     * are (T+1) x B x R slots of the output memory (R = O with output_memory, else 0). */           \
    void mem_readout_forward_##S_(const mem_net_##S_ *net, int64_t T, int64_t B, const T_ *x,        \
                                  const T_ *z, const int64_t *len, T_ *ro_states, T_ *yhat);          \
    /* dyhat (T x B x O) is overwritten; d_ro_state (B x R) in/out; dz (T x B x H) is written. */    \
    void mem_readout_backward_##S_(mem_net_##S_ *net, int64_t T, int64_t B, const T_ *x, const T_ *z, \
                                   const int64_t *len, const T_ *ro_states, T_ *dyhat, T_ *d_ro_state, \
                                   T_ *dz);                                                           \
    /* Loss of outputs yhat (probabilities for CE, see mem_softmax_rows): returns                   \
     * sum(weighted loss) / norm and writes the gradient wrt the readout's linear outputs (logits   \
     * for CE) into dyhat when dyhat is not NULL. */                                                  \
    double mem_loss_##S_(const mem_arch *arch, int64_t T, int64_t B, const T_ *yhat, const T_ *y,    \
                         const T_ *weight, double norm, T_ *dyhat);                                   \
    void mem_softmax_rows_##S_(T_ *rows, int64_t n, int64_t width);                                  \
                                                                                                      \
    const mem_cell_ops_##S_ *mem_cell_ops_find_##S_(const char *kind);                               \
    /* Runs the window: state (B x arch->state_dim) in = initial, out = final; yhat (T x B x O,      \
     * may be NULL) receives the outputs (probabilities for CE); *loss_sum (may be NULL) the summed  \
     * loss / norm; with want_grad, gradients accumulate into net->g and d_state0 (B x state_dim,   \
     * may be NULL) receives the gradient wrt the initial state. seg_len > 0 bounds the cached       \
     * steps: the window is cut into segments whose caches are recomputed during backward. */       \
    mem_status mem_window_run_##S_(mem_net_##S_ *net, const mem_cell_ops_##S_ *ops,                 \
                                   const mem_window_##S_ *win, T_ *state, T_ *yhat, double *loss_sum, \
                                   int want_grad, T_ *d_state0, int64_t seg_len,                      \
                                   mem_workspace_##S_ *ws);                                           \
    /* Reals of cache per step of the window engine (to choose seg_len from a memory budget). */     \
    int64_t mem_window_reals_per_step_##S_(const mem_arch *arch, int64_t B);                         \
    void mem_workspace_free_##S_(mem_workspace_##S_ *ws);

MEM_DECLARE_NET(float, f32)
MEM_DECLARE_NET(double, f64)

#ifdef MEM_GENERIC_SOURCE
#include "core/real.h"
#define mem_net MEM_FN(mem_net)
#define mem_cell_ops MEM_FN(mem_cell_ops)
#define mem_window MEM_FN(mem_window)
#define mem_workspace MEM_FN(mem_workspace)
#endif

#endif
