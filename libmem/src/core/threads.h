/* Thread-count policy. Parallel loops use `num_threads(mem_threads_for(...))` clauses, never
 * omp_set_num_threads, so one model's setting never leaks into another's. */
#ifndef MEM_CORE_THREADS_H
#define MEM_CORE_THREADS_H

#include <stdint.h>

/* Below this many floating-point operations a parallel region costs more than it saves. Measured
 * with the vectorised cells: AMRC at hidden 32, batch 32 (about 1-2 million per region) ran at 0.77x
 * its one-thread speed on two threads with the old 2^20; at 2^22 it stays on one thread. */
#define MEM_PARALLEL_MIN_WORK (1 << 22)

/* Threads to use for `work` flops with the model's `requested` setting (0 = OpenMP default):
 * 1 below the threshold, in a build without OpenMP, or in a forked child (libgomp is not fork-safe). */
int mem_threads_for(int requested, int64_t work);
/* Threads available at all (for build info). */
int mem_threads_max(void);

/* Inside a parallel region: the calling thread's contiguous share [*begin, *end) of n items, split
 * as schedule(static) splits a loop (the first n % team threads take one more). */
void mem_static_share(int64_t n, int64_t *begin, int64_t *end);

#endif
