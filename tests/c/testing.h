/* A minimal test harness: CHECK records a failure and continues; main returns the failure count
 * through TEST_MAIN_END, so ctest sees a non-zero exit on any failure. */
#ifndef MEM_TESTING_H
#define MEM_TESTING_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures = 0;
static int test_checks = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        test_checks++;                                                              \
        if (!(cond)) {                                                              \
            test_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        test_checks++;                                                              \
        if (!(cond)) {                                                              \
            test_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
        }                                                                           \
    } while (0)

/* A call that must succeed; prints the library's message when it does not. */
#define CHECK_OK(call)                                                              \
    do {                                                                            \
        mem_status check_ok_s_ = (call);                                            \
        test_checks++;                                                              \
        if (check_ok_s_ != MEM_OK) {                                                \
            test_failures++;                                                        \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,     \
                    mem_status_name(check_ok_s_), mem_last_error());                \
        }                                                                           \
    } while (0)

/* A call that must fail with `status` and leave a non-empty message. */
#define CHECK_STATUS(call, status)                                                  \
    do {                                                                            \
        mem_status check_st_s_ = (call);                                            \
        test_checks++;                                                              \
        if (check_st_s_ != (status) || mem_last_error()[0] == '\0') {               \
            test_failures++;                                                        \
            fprintf(stderr, "%s:%d: %s -> %s (want %s), message '%s'\n", __FILE__,  \
                    __LINE__, #call, mem_status_name(check_st_s_),                  \
                    mem_status_name(status), mem_last_error());                     \
        }                                                                           \
    } while (0)

#define TEST_MAIN_END()                                                             \
    do {                                                                            \
        printf("%d checks, %d failed\n", test_checks, test_failures);               \
        return test_failures ? 1 : 0;                                               \
    } while (0)

#endif
