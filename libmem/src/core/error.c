#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MEM_ERROR_CAPACITY 1024

static _Thread_local char last_error[MEM_ERROR_CAPACITY];
static _Thread_local int last_errno;

static void set_message(const char *fmt, va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
}

mem_status mem_fail(mem_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    last_errno = 0;
    return status;
}

mem_status mem_fail_io(int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    size_t used = strlen(last_error);
    char buf[256];
    /* strerror_r is not in C11; strerror is fine for a message built on this thread at once. */
    snprintf(buf, sizeof buf, ": %s (errno %d)", strerror(err), err);
    if (used + 1 < sizeof last_error) snprintf(last_error + used, sizeof last_error - used, "%s", buf);
    last_errno = err;
    return MEM_ERR_IO;
}

void mem_clear_error(void) {
    last_error[0] = '\0';
    last_errno = 0;
}

const char *mem_last_error(void) { return last_error; }

int mem_errno(void) { return last_errno; }

const char *mem_status_name(mem_status status) {
    switch (status) {
    case MEM_OK: return "MEM_OK";
    case MEM_ERR_ARG: return "MEM_ERR_ARG";
    case MEM_ERR_SHAPE: return "MEM_ERR_SHAPE";
    case MEM_ERR_NOMEM: return "MEM_ERR_NOMEM";
    case MEM_ERR_IO: return "MEM_ERR_IO";
    case MEM_ERR_CORRUPT: return "MEM_ERR_CORRUPT";
    case MEM_ERR_NUMERIC: return "MEM_ERR_NUMERIC";
    case MEM_ERR_STATE: return "MEM_ERR_STATE";
    case MEM_ERR_UNSUPPORTED: return "MEM_ERR_UNSUPPORTED";
    case MEM_ERR_INFEASIBLE: return "MEM_ERR_INFEASIBLE";
    case MEM_ERR_CANCELLED: return "MEM_ERR_CANCELLED";
    }
    return "MEM_ERR_UNKNOWN";
}
