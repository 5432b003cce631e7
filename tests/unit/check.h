/* A minimal unit-test harness: CHECK records failures and goes on; main() ends with
 * check_summary(), which prints "N passed, N failed" and returns the exit status. */
#ifndef POOL_CHECK_H
#define POOL_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            check_passed++;                                                             \
        } else {                                                                        \
            check_failed++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

#define CHECK_EQ_INT(got, want)                                                         \
    do {                                                                                \
        long long got_ = (long long)(got), want_ = (long long)(want);                   \
        if (got_ == want_) {                                                            \
            check_passed++;                                                             \
        } else {                                                                        \
            check_failed++;                                                             \
            fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, \
                    got_, want_);                                                       \
        }                                                                               \
    } while (0)

#define CHECK_NEAR(got, want, tol)                                                      \
    do {                                                                                \
        double got_ = (double)(got), want_ = (double)(want);                            \
        if (fabs(got_ - want_) <= (tol) || (isnan(got_) && isnan(want_))) {             \
            check_passed++;                                                             \
        } else {                                                                        \
            check_failed++;                                                             \
            fprintf(stderr, "%s:%d: %s is %.17g, want %.17g\n", __FILE__, __LINE__,     \
                    #got, got_, want_);                                                 \
        }                                                                               \
    } while (0)

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
