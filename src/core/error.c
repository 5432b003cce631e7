#include "error.h"

#include <stdarg.h>
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
