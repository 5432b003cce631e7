#include "messages.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int exit_status_of(const struct pool_error *err)
{
    return err->kind == ERROR_USAGE ? EXIT_FAILURE_USAGE : EXIT_FAILURE_DATA;
}

/* Appends text to line (of size len, used so far *used), control bytes as \xNN. */
static void append_escaped(char *line, size_t len, size_t *used, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c && *used + 5 < len; c++)
        if (*c < 0x20 || *c == 0x7f)
            *used += (size_t)snprintf(line + *used, len - *used, "\\x%02x", *c);
        else
            line[(*used)++] = (char)*c;
    line[*used] = '\0';
}

/* A subject longer than this shows its ends around "...", so that the reason fits. */
#define SUBJECT_SHOWN 600

/* "pool: SUBJECT: PREFIXTEXT\n" into line; returns its length. */
static size_t format_line(char *line, size_t len, const char *subject, const char *prefix,
                          const char *text)
{
    size_t used = 0;
    append_escaped(line, len - 1, &used, "pool: ");
    if (subject && strlen(subject) > SUBJECT_SHOWN) {
        char head[SUBJECT_SHOWN / 2 + 1];
        memcpy(head, subject, SUBJECT_SHOWN / 2);
        head[SUBJECT_SHOWN / 2] = '\0';
        append_escaped(line, len - 1, &used, head);
        append_escaped(line, len - 1, &used, "...");
        append_escaped(line, len - 1, &used, subject + strlen(subject) - SUBJECT_SHOWN / 2);
        append_escaped(line, len - 1, &used, ": ");
    } else if (subject) {
        append_escaped(line, len - 1, &used, subject);
        append_escaped(line, len - 1, &used, ": ");
    }
    append_escaped(line, len - 1, &used, prefix);
    append_escaped(line, len - 1, &used, text);
    line[used++] = '\n';
    line[used] = '\0';
    return used;
}

/* One line, one write: stderr is unbuffered, and a line of a few hundred bytes written in
 * one call is not split by writes from other threads. */
static void say_line(const char *subject, const char *prefix, const char *text)
{
    char line[MESSAGE_LINE_MAX];
    fwrite(line, 1, format_line(line, sizeof line, subject, prefix, text), stderr);
}

size_t format_failure(const struct pool_error *err, const char *subject, char *line, size_t len)
{
    return format_line(line, len, err->subject ? err->subject : subject, "", err->msg);
}

void say_failure(const struct pool_error *err, const char *subject)
{
    say_line(err->subject ? err->subject : subject, "", err->msg);
}

void say_warning(const char *subject, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    say_line(subject, "warning: ", text);
}
