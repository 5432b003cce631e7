#include "error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* A new reason starts a new failure: kind and subject are told again. */
static void format_reason(struct pool_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->kind = ERROR_UNSET;
    err->subject = NULL;
}

int pool_fail(struct pool_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        format_reason(err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int pool_fail_resource(struct pool_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        format_reason(err, fmt, ap);
        va_end(ap);
        err->kind = ERROR_RESOURCE;
    }
    return -1;
}

int pool_blame(struct pool_error *err, enum pool_error_kind kind, const char *subject)
{
    if (err) {
        if (err->kind == ERROR_UNSET)
            err->kind = kind;
        if (!err->subject)
            err->subject = subject;
    }
    return -1;
}

const char *bytes_describe(size_t n, char buf[32])
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (n < 1024) {
        snprintf(buf, 32, "%zu byte%s", n, n == 1 ? "" : "s");
        return buf;
    }
    double v = (double)n / 1024;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    /* whole numbers bare (1 GiB), others to one decimal, never rounded up to 1024 */
    if (v == (double)(long long)v)
        snprintf(buf, 32, "%.0f %s", v, units[u]);
    else
        snprintf(buf, 32, "%.1f %s", v >= 1023.95 ? 1023.9 : v, units[u]);
    return buf;
}

int pool_check_memory(size_t need, size_t used, size_t budget, const char *what,
                      struct pool_error *err)
{
    if (used <= budget && need <= budget - used)
        return 0;
    char a[32], b[32], c[32];
    if (used == 0)
        return pool_fail(err, "%s %s, more than the memory budget of %s (--max-memory)", what,
                         bytes_describe(need, a), bytes_describe(budget, b));
    return pool_fail(err,
                     "%s %s, which with the %s taken before is more than the memory "
                     "budget of %s (--max-memory)",
                     what, bytes_describe(need, a), bytes_describe(used, c),
                     bytes_describe(budget, b));
}
