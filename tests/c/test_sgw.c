/* SGW-AMN's competition: every valid step has exactly k distinct winners, they are the k largest
 * competition weights (ties to the lower index), and the renormalised weights sum to 1. Read from
 * the cell's forward cache in the double build (layout: p (P) | pi (P) | winners (k) | sum ...). */
#include "model/model.h"
#include "test_util.h"
#include "testing.h"

static void check_case(const char *const *settings, int ties) {
    mem_model *m = test_model("sgw_amn", 3, 1, settings);
    CHECK(m != NULL);
    if (!m) return;
    const mem_arch *a = &m->arch;
    const int64_t P = a->proj_per_step, K = (int64_t)a->hyper[0], T = 9, B = 3;
    const int64_t S = a->cell_state_dim, E = a->extra_per_step;
    mem_net_f64 net = {0};
    net.arch = a;
    net.n_threads = 1;
    net.w = malloc((size_t)a->n_weights * sizeof(double));
    for (int64_t i = 0; i < a->n_weights; i++) net.w[i] = m->net.w[i];
    if (ties) { /* equal candidates: every b_in and W_in row the same, so all saliences tie */
        const mem_tensor_spec *w_in = &a->params[mem_arch_find_param(a, "W_in")];
        for (int64_t i = 0; i < w_in->size; i++) net.w[w_in->offset + i] = net.w[w_in->offset + i % 3];
    }
    test_rng r = {11};
    double *x = malloc((size_t)(T * B * 3) * sizeof *x), *states = calloc((size_t)((T + 1) * B * S), sizeof *states);
    double *proj = malloc((size_t)(T * B * P + a->per_window) * sizeof *proj);
    double *extra = malloc((size_t)(T * B * E) * sizeof *extra), *z = malloc((size_t)(T * B * a->hidden) * sizeof *z);
    for (int64_t i = 0; i < T * B * 3; i++) x[i] = test_range(&r, -1.5, 1.5);
    const mem_cell_ops_f64 *ops = mem_cell_ops_find_f64("sgw_amn");
    ops->forward(&net, T, B, x, NULL, states, proj, extra, z);
    for (int64_t s = 0; s < T * B; s++) {
        const double *pi = extra + s * E + P, *win = pi + P;
        double sum = 0;
        int distinct = 1, largest = 1;
        for (int64_t n = 0; n < K; n++) {
            const int64_t i = (int64_t)win[n];
            sum += pi[i];
            for (int64_t q = 0; q < n; q++) distinct &= (int64_t)win[q] != i;
            /* nothing outside the winners beats a winner, or ties it from a lower index */
            for (int64_t j = 0; j < P; j++) {
                int is_winner = 0;
                for (int64_t q = 0; q < K; q++) is_winner |= (int64_t)win[q] == j;
                if (!is_winner && (pi[j] > pi[i] || (pi[j] == pi[i] && j < i))) largest = 0;
            }
        }
        CHECK_MSG(distinct && largest, "step %lld: the %lld winners are not the k largest distinct", (long long)s,
                  (long long)K);
        CHECK_MSG(fabs(sum - win[K]) <= 1e-15 && sum > 0, "step %lld: cached sum %g vs %g", (long long)s, win[K], sum);
        if (ties)
            for (int64_t n = 0; n < K; n++) CHECK((int64_t)win[n] == n); /* ties go to the lower index */
    }
    free(x);
    free(states);
    free(proj);
    free(extra);
    free(z);
    free(net.w);
    mem_model_free(m);
}

int main(void) {
    const char *const small[] = {"hidden_size=4", "n_candidates=32", "k=5", "workspace_size=4",
                                 "memory_manifold_size=3", NULL};
    const char *const one[] = {"hidden_size=4", "n_candidates=7", "k=1", "memory_manifold_size=3", NULL};
    const char *const all[] = {"hidden_size=4", "n_candidates=6", "k=6", "memory_manifold_size=3", NULL};
    const char *const dflt[] = {"hidden_size=8", "memory_manifold_size=4", NULL}; /* 256 candidates, k 16 */
    check_case(small, 0);
    check_case(one, 0);
    check_case(all, 0);
    check_case(dflt, 0);
    check_case(small, 1);
    TEST_MAIN_END();
}
