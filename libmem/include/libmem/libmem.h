/* libmem — memory-native recurrent networks with exact, hand-written gradients.
 *
 * Conventions (every function below follows them):
 *  - Fallible functions return mem_status (MEM_OK = 0). On failure mem_last_error() gives a
 *    thread-local message naming the argument, its value and the allowed range.
 *    The library never prints, aborts or exits because of caller input.
 *  - Handles are opaque; every _create has a _free, and _free(NULL) is a no-op. Distinct handles
 *    may be used from different threads at once; one handle is not for concurrent use.
 *  - Arrays are caller-owned, row-major, contiguous float32 with explicit int64 sizes; outputs take
 *    a capacity (in elements or bytes, as named). No pointer to a caller buffer is kept after a call.
 *  - Views returned by mem_model_param_data / mem_model_state_data stay valid until the model is freed.
 *
 * This header is also the source of the Python binding's declarations (generated at build time):
 * keep every declaration on plain C types, with preprocessor lines only for guards and MEM_API. */
#ifndef LIBMEM_H
#define LIBMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LIBMEM_BUILDING) && defined(__GNUC__)
#define MEM_API __attribute__((visibility("default")))
#else
#define MEM_API
#endif

#define MEM_VERSION_MAJOR 0
#define MEM_VERSION_MINOR 1
#define MEM_VERSION_PATCH 0
#define MEM_VERSION_NUMBER 100

/* ---- status, errors, version ---------------------------------------------------------------- */

typedef enum mem_status {
    MEM_OK = 0,
    MEM_ERR_ARG = 1,          /* an argument is invalid (NULL, out of range, unknown name) */
    MEM_ERR_SHAPE = 2,        /* sizes do not agree with each other or with the model */
    MEM_ERR_NOMEM = 3,        /* allocation failed */
    MEM_ERR_IO = 4,           /* the operating system refused a file operation (errno in the message) */
    MEM_ERR_CORRUPT = 5,      /* a file or buffer is not a valid model (truncated, bad checksum, foreign) */
    MEM_ERR_NUMERIC = 6,      /* a non-finite value appeared (input, loss or gradient) */
    MEM_ERR_STATE = 7,        /* the call does not fit the object's state */
    MEM_ERR_UNSUPPORTED = 8,  /* valid request this build or kind cannot do */
    MEM_ERR_INFEASIBLE = 9,   /* an optimisation problem has no solution */
    MEM_ERR_CANCELLED = 10    /* the progress callback asked to stop */
} mem_status;                 /* codes are never renumbered */

MEM_API const char *mem_status_name(mem_status status);  /* "MEM_ERR_SHAPE"; never NULL */
MEM_API const char *mem_last_error(void);                /* thread-local detail of the last failure; never NULL */
MEM_API int mem_errno(void);                              /* errno of the last MEM_ERR_IO on this thread, else 0 */
MEM_API int mem_version_number(void);                     /* MAJOR*10000 + MINOR*100 + PATCH */
MEM_API const char *mem_version_string(void);             /* "0.1.0" */
MEM_API const char *mem_build_info(void);                 /* "version=0.1.0 build=<id> openmp=1 simd=avx2 threads=2" */
MEM_API const char *mem_build_id(void);                   /* unique per build of the library */

/* The cell registry: writes up to `capacity` kind names ("amrc", ...) and returns how many exist. */
MEM_API int64_t mem_model_kinds(const char **names, int64_t capacity);

/* ---- configuration: typed, validated, introspectable ------------------------------------------
 * Every kind has two parameter tables. ARCH parameters are fixed once a model exists; TRAIN
 * parameters (learning rate, batch size, ...) can also be changed on a live model. */

typedef enum mem_param_table { MEM_TABLE_ARCH = 0, MEM_TABLE_TRAIN = 1 } mem_param_table;
typedef enum mem_param_type {
    MEM_PARAM_INT = 0, MEM_PARAM_FLOAT = 1, MEM_PARAM_BOOL = 2, MEM_PARAM_CHOICE = 3, MEM_PARAM_FLOATS = 4
} mem_param_type;
/* bounds flags of mem_config_param_info */
#define MEM_BOUND_MIN_OPEN 1      /* value must be > min (else >= min) */
#define MEM_BOUND_MAX_OPEN 2      /* value must be < max (else <= max) */

typedef struct mem_config mem_config;

MEM_API mem_status mem_config_create(const char *kind, mem_config **out);
MEM_API void mem_config_free(mem_config *cfg);
MEM_API mem_status mem_config_clone(const mem_config *cfg, mem_config **out);
MEM_API const char *mem_config_kind(const mem_config *cfg);
MEM_API mem_status mem_config_set_int(mem_config *cfg, const char *key, int64_t value);     /* INT, BOOL, FLOAT */
MEM_API mem_status mem_config_set_float(mem_config *cfg, const char *key, double value);    /* FLOAT (INT if integral) */
MEM_API mem_status mem_config_set_str(mem_config *cfg, const char *key, const char *value); /* CHOICE */
/* FLOATS (array) parameters, e.g. one value per head: n values in [0, 64], each checked against the
 * parameter's range; n = 0 (values may be NULL) restores the default, which the kind derives from
 * other parameters when the model is created (the length is checked against them there). */
MEM_API mem_status mem_config_set_floats(mem_config *cfg, const char *key, const double *values, int64_t n);
/* *n receives the array's length (0 = not set: the kind's default); min(n, capacity) values are
 * copied to `values` (may be NULL for a length query). */
MEM_API mem_status mem_config_get_floats(const mem_config *cfg, const char *key, double *values,
                                         int64_t capacity, int64_t *n);
MEM_API mem_status mem_config_get_int(const mem_config *cfg, const char *key, int64_t *out);
MEM_API mem_status mem_config_get_float(const mem_config *cfg, const char *key, double *out);
MEM_API mem_status mem_config_get_str(const mem_config *cfg, const char *key, const char **out);

/* The parameter tables of a kind: common parameters (readout, loss, seed, training) then the cell's. */
MEM_API int64_t mem_config_param_count(const char *kind);  /* -1 for an unknown kind */
MEM_API int64_t mem_config_common_count(void);             /* how many of them every kind shares (first) */
MEM_API mem_status mem_config_param_info(const char *kind, int64_t index, const char **name,
                                         mem_param_type *type, mem_param_table *table,
                                         double *default_value, double *min_value, double *max_value,
                                         int *bounds, const char **choices, const char **doc);

/* ---- models --------------------------------------------------------------------------------- */

typedef struct mem_model mem_model;

MEM_API mem_status mem_model_create(const mem_config *cfg, int64_t n_inputs, int64_t n_outputs,
                                    mem_model **out);
MEM_API void mem_model_free(mem_model *model);
MEM_API mem_status mem_model_clone(const mem_model *model, mem_model **out);
MEM_API const char *mem_model_kind(const mem_model *model);  /* NULL for a NULL model */
MEM_API int64_t mem_model_n_inputs(const mem_model *model);
MEM_API int64_t mem_model_n_outputs(const mem_model *model);
MEM_API mem_status mem_model_get_config(const mem_model *model, mem_config **out);  /* a new config the caller frees */
/* TRAIN-table parameters on a live model (ARCH parameters give MEM_ERR_STATE). */
MEM_API mem_status mem_model_set_int(mem_model *model, const char *key, int64_t value);
MEM_API mem_status mem_model_set_float(mem_model *model, const char *key, double value);
MEM_API mem_status mem_model_set_str(mem_model *model, const char *key, const char *value);
/* Counters: "epochs_trained", "updates", "fit_epoch" (position in the learning-rate schedule). */
MEM_API mem_status mem_model_counter(const mem_model *model, const char *name, int64_t *out);

/* ---- data ------------------------------------------------------------------------------------
 * STREAM: x is (n_steps, n_inputs), one stream continuing the model's memory; n_seq = 1,
 *         max_len = n_steps; target must be PER_STEP.
 * SEQUENCES: x is (n_seq, max_len, n_inputs), independent sequences that start from zero state and
 *         never read or write the stored memory; lengths (n_seq values in [1, max_len]) may be NULL
 *         (all full length). Steps past a sequence's length are ignored and predicted as 0.
 * Targets y: MSE loss: (n_seq, max_len, n_outputs) per step, (n_seq, n_outputs) for LAST.
 *            cross-entropy: class indices stored as float, (n_seq, max_len) or (n_seq,).
 * y may be NULL for prediction. */
typedef enum mem_layout { MEM_LAYOUT_STREAM = 0, MEM_LAYOUT_SEQUENCES = 1 } mem_layout;
typedef enum mem_target { MEM_TARGET_PER_STEP = 0, MEM_TARGET_LAST = 1 } mem_target;
typedef struct mem_data {
    mem_layout layout;
    mem_target target;
    const float *x;
    const float *y;
    const int64_t *lengths;
    int64_t n_seq;
    int64_t max_len;
} mem_data;

/* Progress: called after every minibatch; a non-zero return cancels training with
 * MEM_ERR_CANCELLED, keeping the weights of the last finished minibatch. */
typedef int (*mem_progress_fn)(void *user, int64_t batches_done, int64_t batches_total, double loss);

/* Training flags */
#define MEM_TRAIN_RESTART_SCHEDULE 1  /* this epoch is the first of a fit: schedule position 0 */
#define MEM_TRAIN_ONLINE 2            /* stream: train as one sub-stream continuing the stored memory
                                         (partial_fit semantics) at the base learning rate */

/* One epoch over `data` (see the design document, section 4, for sub-streams and carries).
 * out_loss (may be NULL) receives the mean training loss over the epoch. */
MEM_API mem_status mem_model_train_epoch(mem_model *model, const mem_data *data, int flags,
                                         mem_progress_fn progress, void *user, double *out_loss);
/* Mean loss of the model on `data` without training (streams: from zero memory when reset_memory,
 * else continuing; the stored memory is left at the end of the stream). */
MEM_API mem_status mem_model_loss(mem_model *model, const mem_data *data, int reset_memory, double *out_loss);
/* Loss and its exact gradient with respect to every parameter, over the whole of `data` as one
 * window (full BPTT, no truncation; sequences in one batch; a stream from zero memory when
 * reset_memory, else from the stored memory). grad receives mem_model_weight_count() floats: the
 * parameters in table order, each row-major (frozen and non-trainable entries included as computed,
 * 0 for non-trainable). The model is not changed (its stored memory included). For tests against
 * other implementations and for curvature estimates such as Fisher information. */
MEM_API mem_status mem_model_loss_gradient(mem_model *model, const mem_data *data, int reset_memory,
                                           double *out_loss, float *grad, int64_t capacity);
MEM_API int64_t mem_model_weight_count(const mem_model *model);  /* sum of the parameter sizes */
/* Predictions: (n_seq, max_len, n_outputs) per step or (n_seq, n_outputs) for LAST; probabilities
 * for a cross-entropy model. Streams start from zero memory when reset_memory is non-zero and leave
 * the memory at the end of the stream; sequences never touch the stored memory. */
MEM_API mem_status mem_model_predict(mem_model *model, const mem_data *data, int reset_memory,
                                     float *out, int64_t out_capacity);
/* Stateless prediction for serving: the stream continues from `state` (mem_model_state_size bytes,
 * the layout of mem_model_get_state) and `state` receives the final memory. The model is untouched. */
MEM_API mem_status mem_model_predict_with_state(const mem_model *model, const mem_data *data,
                                                void *state, int64_t state_bytes,
                                                float *out, int64_t out_capacity);

/* Per-step states: runs the model as mem_model_predict does (same memory semantics) and writes the
 * state tensor named `state` after every step into out, (n_seq, max_len, size of the tensor); with
 * state NULL, the whole per-lane state (mem_model_state_size / 4 floats, the layout of
 * mem_model_get_state). Steps past a sequence's length are 0. For activation matching and probing. */
MEM_API mem_status mem_model_predict_states(mem_model *model, const mem_data *data, int reset_memory,
                                            const char *state, float *out, int64_t out_capacity);

/* ---- memory state: the state table (named tensors) and an opaque blob ------------------------- */
MEM_API mem_status mem_model_reset_memory(mem_model *model);
MEM_API mem_status mem_model_reset_training_state(mem_model *model);  /* optimizer moments, carries, counters */
MEM_API int64_t mem_model_state_count(const mem_model *model);
MEM_API mem_status mem_model_state_info(const mem_model *model, int64_t index, const char **name,
                                        int *ndim, int64_t *shape, const char **axes);
MEM_API mem_status mem_model_state_data(mem_model *model, int64_t index, float **data);
MEM_API mem_status mem_model_state_size(const mem_model *model, int64_t *n_bytes);
MEM_API mem_status mem_model_get_state(const mem_model *model, void *buf, int64_t capacity);
MEM_API mem_status mem_model_set_state(mem_model *model, const void *buf, int64_t n_bytes);

/* ---- parameters: named, axis-tagged tensors ----------------------------------------------------
 * shape and axes have room for 4 entries; axes are tags such as "H", "I", "O";
 * permutable[k] is 1 where axis k is a permutation symmetry of the model. */
MEM_API int64_t mem_model_param_count(const mem_model *model);
MEM_API mem_status mem_model_param_info(const mem_model *model, int64_t index, const char **name,
                                        int *ndim, int64_t *shape, const char **axes, int *permutable,
                                        int *trainable);
MEM_API mem_status mem_model_param_find(const mem_model *model, const char *name, int64_t *index);
MEM_API mem_status mem_model_param_data(mem_model *model, int64_t index, float **data);
/* Freeze masks: mask has one byte per entry of the tensor, 1 = frozen (kept bit-identical). */
MEM_API mem_status mem_model_freeze(mem_model *model, const char *param, const uint8_t *mask, int64_t n);
MEM_API mem_status mem_model_frozen(const mem_model *model, const char *param, uint8_t *mask, int64_t capacity);
MEM_API mem_status mem_model_unfreeze_all(mem_model *model);
/* Freezing helpers. "Exactly a fraction p" of a tensor of n entries means floor(p*n + 0.5) entries;
 * fraction must lie in [0, 1]. The fraction, magnitude and threshold helpers replace the tensor's
 * previous mask. _fraction picks the entries uniformly without replacement from the model's RNG
 * (deterministic for a given seed and history; the draw advances the saved RNG counter). */
MEM_API mem_status mem_model_freeze_fraction(mem_model *model, const char *param, double fraction);
/* Freezes the floor(p*n + 0.5) entries of smallest (largest = 0) or largest (largest = 1) |w|;
 * ties go to the lower index. */
MEM_API mem_status mem_model_freeze_magnitude(mem_model *model, const char *param, double fraction,
                                              int largest);
/* Freezes the entries with |w| < threshold (above = 0) or |w| > threshold (above = 1); threshold >= 0. */
MEM_API mem_status mem_model_freeze_threshold(mem_model *model, const char *param, double threshold,
                                              int above);
/* Freezes hidden unit k, k in [0, hidden_size): every entry of every parameter tensor whose index
 * on an axis tagged "H" is k (row and column of a recurrent matrix, the unit's input row and
 * per-unit values, column k of the readout W_o), in addition to what is already frozen. */
MEM_API mem_status mem_model_freeze_neuron(mem_model *model, int64_t k);
/* Frozen entries of tensor `param`, or of all tensors when param is NULL; -1 for a NULL model or
 * an unknown name (with a message in mem_last_error). */
MEM_API int64_t mem_model_frozen_count(const mem_model *model, const char *param);

/* Reorders the units of a permutable axis (`axis` "H" or "M", as the parameter table tags it):
 * position i of every tensor axis tagged `axis` receives the entry at perm[i] (numpy's x[perm]),
 * in every parameter tensor, its freeze mask and optimizer moments, and every state tensor of the
 * stored memory and the training carries. n is the axis' size; perm a permutation of 0..n-1. A
 * symmetry of the model: predictions change only by rounding. */
MEM_API mem_status mem_model_permute(mem_model *model, const char *axis, const int64_t *perm, int64_t n);

/* ---- diagnostics by name ---------------------------------------------------------------------- */
MEM_API int64_t mem_model_diag_count(const mem_model *model);
MEM_API mem_status mem_model_diag(const mem_model *model, int64_t index, const char **name,
                                  double *values, int64_t capacity, int64_t *n_values);

/* ---- plastic weights ----------------------------------------------------------------------------
 * Kinds with fast plastic weights in their memory (NDM's F) fold a fraction 0 < rate <= 1 of them
 * into the slow weights of the stored stream memory: NDM sets W_rec += rate * P * F and
 * F = (1 - rate) * F, so the effective weights and the next prediction do not change. Frozen W_rec
 * entries keep their weight and their F entry. MEM_ERR_UNSUPPORTED for kinds without plastic
 * weights. Inference never changes a model's weights by itself; this is the only way. */
MEM_API mem_status mem_model_consolidate(mem_model *model, double rate);

/* ---- persistence: file (atomic: temp file, fsync, rename, fsync of the directory) and buffer ----
 * metadata_json: the caller's JSON text, stored as is; NULL keeps the model's current metadata.
 * A model holding a non-finite weight, memory or carry is not saved (MEM_ERR_NUMERIC), since it
 * could not be loaded: loading rejects non-finite values as MEM_ERR_CORRUPT. */
MEM_API mem_status mem_model_save(const mem_model *model, const char *path, const char *metadata_json);
MEM_API mem_status mem_model_load(const char *path, mem_model **out);
MEM_API mem_status mem_model_save_size(const mem_model *model, const char *metadata_json, int64_t *n_bytes);
MEM_API mem_status mem_model_save_buffer(const mem_model *model, const char *metadata_json, void *buf,
                                         int64_t capacity);
MEM_API mem_status mem_model_load_buffer(const void *buf, int64_t n_bytes, mem_model **out);
MEM_API mem_status mem_model_set_metadata(mem_model *model, const char *metadata_json);
/* *length receives strlen of the metadata; with buf not NULL it is copied NUL-terminated, and a
 * capacity below length + 1 is MEM_ERR_SHAPE (buf NULL: a size query). */
MEM_API mem_status mem_model_metadata(const mem_model *model, char *buf, int64_t capacity, int64_t *length);

/* ---- alignment and similarity ------------------------------------------------------------------
 * Plain numerical routines on caller arrays (no model involved); they never keep a pointer. */

/* Linear sum assignment: the pairs (row_ind[k], col_ind[k]), k < min(n_rows, n_cols), that
 * minimise (maximise when `maximize` is non-zero) the total cost over assignments of every row (or
 * every column, whichever is fewer) to a distinct partner. cost is (n_rows, n_cols) row-major
 * float64 and may be NULL when a size is 0; row_ind is increasing (scipy's convention). capacity is
 * the length of row_ind and col_ind (>= min(n_rows, n_cols)).
 * +inf marks a forbidden pair (-inf when maximizing); NaN, and -inf when minimizing (+inf when
 * maximizing), are MEM_ERR_ARG; when no assignment avoids the forbidden pairs the result is
 * MEM_ERR_INFEASIBLE ("cost matrix is infeasible"). Shortest augmenting paths after the
 * Jonker-Volgenant initialisation; one thread; memory O(n_rows * n_cols) only for a working copy
 * (taken when maximizing, when n_rows > n_cols, or for magnitudes above 2^400). */
MEM_API mem_status mem_linear_sum_assignment(const double *cost, int64_t n_rows, int64_t n_cols,
                                             int maximize, int64_t *row_ind, int64_t *col_ind,
                                             int64_t capacity);

/* Representation similarity of x (n, d1) and y (n, d2), float32 row-major, rows = the same n
 * inputs. Products are float32 in blocks of 512 terms summed in float64; the result is the same
 * for any n_threads (0 = OpenMP default). Non-finite inputs are MEM_ERR_ARG; an input without
 * variation (CKA undefined) is MEM_ERR_NUMERIC. */
#define MEM_CKA_LINEAR 0
#define MEM_CKA_RBF 1
/* Centred kernel alignment (Kornblith et al. 2019) into *out, in [0, 1]. kernel MEM_CKA_LINEAR, or
 * MEM_CKA_RBF with bandwidth sigma * sqrt(median squared distance) (sigma > 0; ignored for
 * linear). debiased: the unbiased HSIC estimator (U-centred Gram matrices; needs n >= 4), else
 * n >= 2. */
MEM_API mem_status mem_cka(const float *x, const float *y, int64_t n, int64_t d1, int64_t d2,
                           int kernel, int debiased, double sigma, int n_threads, double *out);
#define MEM_RSA_PEARSON 0
#define MEM_RSA_SPEARMAN 1
/* Representational similarity analysis into *out: the correlation (Pearson, or Spearman with
 * average ranks for ties; dissimilarities equal to 2^-40 tie) between the upper triangles of the
 * two dissimilarity matrices 1 - corr(row i, row j), computed in float64. n >= 3, d1, d2 >= 2; a
 * constant row is MEM_ERR_NUMERIC. */
MEM_API mem_status mem_rsa(const float *x, const float *y, int64_t n, int64_t d1, int64_t d2,
                           int method, int n_threads, double *out);

/* ---- Kernels ---------------------------------------------------------------------------------- */
/* Float32 matrix product, row-major: C = alpha * op(A) op(B) + beta * C, op(A) m x k (A stored
 * k x m when trans_a), op(B) k x n (B stored n x k when trans_b); lda/ldb/ldc are row strides in
 * elements. beta == 0 does not read C; alpha == 0 or k == 0 does not read A or B. Each element is
 * one multiply-add chain over k in increasing order (fused, AVX2/FMA, where the CPU has it): the
 * result is the same for any n_threads (0 = OpenMP default). */
MEM_API mem_status mem_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                             float *c, int64_t ldc, int n_threads);

#ifdef __cplusplus
}
#endif
#endif /* LIBMEM_H */
