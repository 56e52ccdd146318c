/* Data validation and minibatch gathering shared by training, loss and prediction. */
#ifndef MEM_MODEL_DATA_H
#define MEM_MODEL_DATA_H

#include "model/model.h"

/* One lane of a minibatch: `len` steps of sequence `seq` starting at step `start`. */
typedef struct mem_lane {
    int64_t seq, start, len;
} mem_lane;

/* Columns of y per target: n_outputs for MSE, 1 (class index) for cross-entropy. */
int64_t mem_target_cols(const mem_arch *a);

/* Fills the window [t0, t0 + T) of `n_lanes` lanes: x_win (T x B x I), y_win (T x B x ycols) and
 * weight (T x B) when y_win is not NULL, lens (B). Returns the number of targets in the window. */
int64_t mem_gather_window(const mem_arch *a, const mem_data *d, const mem_lane *lanes, int64_t n_lanes, int64_t t0,
                          int64_t T, float *x_win, float *y_win, float *weight, int64_t *lens);

#endif
