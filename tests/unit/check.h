/* A minimal unit-test harness that speaks TAP (automake's tap-driver.sh counts each test):
 * CHECK records a failure and goes on; RUN(test_fn()) runs one test function as one TAP
 * test, "ok" when none of its checks failed; main() ends with check_summary(), which
 * prints the plan and the count of checks and returns the exit status. */
#ifndef POOL_CHECK_H
#define POOL_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

static int check_passed, check_failed, check_tests;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(got, want)                                                                    \
    do {                                                                                           \
        long long got_ = (long long)(got), want_ = (long long)(want);                              \
        if (got_ == want_) {                                                                       \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, got_,      \
                    want_);                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                                                 \
    do {                                                                                           \
        double got_ = (double)(got), want_ = (double)(want);                                       \
        if (fabs(got_ - want_) <= (tol) || (isnan(got_) && isnan(want_))) {                        \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s is %.17g, want %.17g\n", __FILE__, __LINE__, #got, got_,    \
                    want_);                                                                        \
        }                                                                                          \
    } while (0)

static void check_report(const char *name, int failed_before, int passed_before)
{
    int checks = check_passed - passed_before + check_failed - failed_before;
    /* A test that checked nothing proves nothing. */
    bool ok = check_failed == failed_before && checks > 0;
    printf("%s %d - %s (%d checks)\n", ok ? "ok" : "not ok", ++check_tests, name, checks);
    if (!ok && checks == 0)
        fprintf(stderr, "%s made no checks\n", name);
    check_failed += !ok && checks == 0;
    fflush(stdout);
}

#define RUN(call)                                                                                  \
    do {                                                                                           \
        int failed_before_ = check_failed, passed_before_ = check_passed;                          \
        call;                                                                                      \
        check_report(#call, failed_before_, passed_before_);                                       \
    } while (0)

static int check_summary(void)
{
    printf("1..%d\n# %d checks passed, %d failed\n", check_tests, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
