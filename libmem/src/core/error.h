/* Internal error reporting: every failure path sets the thread-local message once, at the place
 * that knows the argument, its value and the allowed range. */
#ifndef MEM_CORE_ERROR_H
#define MEM_CORE_ERROR_H

#include "libmem/libmem.h"

#if defined(__GNUC__)
#define MEM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MEM_PRINTF(a, b)
#endif

/* Sets the thread-local message and returns `status`, so callers can write `return mem_fail(...)`. */
mem_status mem_fail(mem_status status, const char *fmt, ...) MEM_PRINTF(2, 3);
/* As mem_fail for MEM_ERR_IO, recording errno and appending strerror. */
mem_status mem_fail_io(int err, const char *fmt, ...) MEM_PRINTF(2, 3);
/* Clears the message (successful public calls leave the last failure's message in place). */
void mem_clear_error(void);

#define MEM_CHECK(expr)                        \
    do {                                       \
        mem_status mem_check_s_ = (expr);      \
        if (mem_check_s_ != MEM_OK) return mem_check_s_; \
    } while (0)

#define MEM_REQUIRE_ARG(ptr, fn)                                                       \
    do {                                                                               \
        if ((ptr) == NULL) return mem_fail(MEM_ERR_ARG, "%s: argument '%s' is NULL", fn, #ptr); \
    } while (0)

#endif
