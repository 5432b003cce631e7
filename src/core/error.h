/*
 * A failure: its reason, what kind of failure it is and which file it is about. Whoever
 * fails fills the reason; the kind and the subject are filled where they are known (a
 * reader knows its input, a writer its output), and the CLI maps the kind to an exit
 * status in one place (see src/cli/messages.h).
 */
#ifndef POOL_ERROR_H
#define POOL_ERROR_H

#include <stddef.h>

enum pool_error_kind {
    ERROR_UNSET,    /* not said yet: the boundary that catches it decides */
    ERROR_USAGE,    /* the command line asks for what cannot be done (exit status 2) */
    ERROR_INPUT,    /* an input cannot be read, or is not what it claims to be */
    ERROR_OUTPUT,   /* an output cannot be written */
    ERROR_RESOURCE, /* memory, or another limit of the machine */
};

struct pool_error {
    char msg[512];
    enum pool_error_kind kind;
    const char *subject; /* the file (or option) it is about, as the user named it */
};

/* Formats the reason into err (if not NULL), kind and subject not yet said, and returns -1,
 * so callers can `return pool_fail(...)`. */
int pool_fail(struct pool_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a failure to get memory or another resource (kind ERROR_RESOURCE). */
int pool_fail_resource(struct pool_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The memory budget (--max-memory): a buffer that grows with an input's declared size (a
 * row, the rows a window spans, a whole image a decoder must hold) is weighed against it
 * before it is allocated, so a file declaring a huge size is refused, not attempted. */
#define DEFAULT_MAX_MEMORY ((size_t)1 << 30)

/* 0 when need bytes fit in the budget beside the bytes already used; else -1, err saying
 * "WHAT 1.5 GiB, more than the memory budget of 1 GiB (--max-memory)": WHAT ends in its
 * verb, "an interlaced PNG, decoded whole, needs". */
int pool_check_memory(size_t need, size_t used, size_t budget, const char *what,
                      struct pool_error *err);

/* n bytes for a message, in the largest binary unit it reaches: "1.5 GiB", "300 MiB",
 * "12 KiB", "100 bytes". Returns buf. */
const char *bytes_describe(size_t n, char buf[32]);

/* Says what err is about, unless a nearer caller already did (either part); returns -1. */
int pool_blame(struct pool_error *err, enum pool_error_kind kind, const char *subject);

#endif
