#include "threads.h"

#include <pthread.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* The pid recorded when the library first decides on threads; a child created by fork() sees a
 * different pid and falls back to one thread, because the parent's OpenMP pool is not in it. */
static pid_t owner_pid;
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void record_owner(void) { owner_pid = getpid(); }

int mem_threads_max(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int mem_threads_for(int requested, int64_t work) {
#ifdef _OPENMP
    pthread_once(&owner_once, record_owner);
    if (work < MEM_PARALLEL_MIN_WORK) return 1;
    if (getpid() != owner_pid) return 1;
    int n = requested > 0 ? requested : omp_get_max_threads();
    return n > 0 ? n : 1;
#else
    (void)requested;
    (void)work;
    pthread_once(&owner_once, record_owner);
    return 1;
#endif
}

void mem_static_share(int64_t n, int64_t *begin, int64_t *end) {
#ifdef _OPENMP
    int64_t team = omp_get_num_threads(), tid = omp_get_thread_num();
#else
    int64_t team = 1, tid = 0;
#endif
    int64_t per = n / team, extra = n % team;
    *begin = tid * per + (tid < extra ? tid : extra);
    *end = *begin + per + (tid < extra ? 1 : 0);
}
