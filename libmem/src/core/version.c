#include <stdio.h>

#include "kernels/gemm.h"
#include "libmem/libmem.h"
#include "threads.h"

#ifndef LIBMEM_VERSION_STRING
#define LIBMEM_VERSION_STRING "0.0.0"
#endif
#ifndef LIBMEM_BUILD_ID
#define LIBMEM_BUILD_ID "unknown"
#endif

int mem_version_number(void) {
    return MEM_VERSION_MAJOR * 10000 + MEM_VERSION_MINOR * 100 + MEM_VERSION_PATCH;
}

const char *mem_version_string(void) { return LIBMEM_VERSION_STRING; }

const char *mem_build_id(void) { return LIBMEM_BUILD_ID; }

const char *mem_build_info(void) {
    /* Built on every call (cheap) into thread-local storage, so no global is written. */
    static _Thread_local char info[256];
#ifdef _OPENMP
    const int openmp = 1;
#else
    const int openmp = 0;
#endif
    snprintf(info, sizeof info, "version=%s build=%s openmp=%d simd=%s threads=%d", LIBMEM_VERSION_STRING,
             LIBMEM_BUILD_ID, openmp, mem_gemm_simd_name(), mem_threads_max());
    return info;
}
