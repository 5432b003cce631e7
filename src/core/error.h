/* A failure's reason, filled by whoever fails and printed by the CLI. */
#ifndef POOL_ERROR_H
#define POOL_ERROR_H

struct pool_error {
    char msg[512];
};

/* Formats the reason into err (if not NULL) and returns -1, so callers can `return pool_fail(...)`. */
int pool_fail(struct pool_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
