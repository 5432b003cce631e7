/*
 * What pool says on stderr: failures and warnings, one whole line each ("pool: SUBJECT:
 * reason"), written with one call so that lines from several threads never interleave;
 * control bytes quoted from a damaged file are escaped, so a line stays a line. Also the
 * one place where a failure's kind becomes an exit status.
 */
#ifndef POOL_MESSAGES_H
#define POOL_MESSAGES_H

#include "../core/error.h"

#include <stddef.h>
#include <stdio.h>

enum { EXIT_FAILURE_DATA = 1, EXIT_FAILURE_USAGE = 2 };

/* The longest line said, newline included; longer reasons are cut. */
#define MESSAGE_LINE_MAX 2048

/* 2 for a usage error, 1 for any other failure. */
int exit_status_of(const struct pool_error *err);

/* "pool: SUBJECT: reason", the subject from err, else `subject`, else none. */
void say_failure(const struct pool_error *err, const char *subject);
/* say_failure's line, newline included, into line (len >= 8) rather than stderr, for a
 * batch that gives its inputs' messages out in their order; returns its length. */
size_t format_failure(const struct pool_error *err, const char *subject, char *line, size_t len);
/* "pool: SUBJECT: warning: ..." (no subject: "pool: warning: ..."). */
void say_warning(const char *subject, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
