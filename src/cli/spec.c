#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int size_arg_parse(const char *text, struct size_arg *out, struct pool_error *err)
{
    const char *p = text;
    out->n = 0;
    for (;;) {
        if (*p < '0' || *p > '9')
            return pool_fail(err,
                             "bad size '%s': expected a number or numbers joined by x, "
                             "like 3 or 3x2",
                             text);
        if (out->n == 3)
            return pool_fail(err, "bad size '%s': at most 3 values (D x H x W)", text);
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE || v > SIZE_ARG_MAX)
            return pool_fail(err, "bad size '%s': too large", text);
        out->v[out->n++] = (size_t)v;
        p = end;
        if (*p == '\0')
            return 0;
        if (*p != 'x' && *p != 'X')
            return pool_fail(err, "bad size '%s': unexpected '%c'", text, *p);
        p++;
    }
}

int count_parse(const char *text, long min, long max, long *out, struct pool_error *err)
{
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno == ERANGE || v < min || v > max)
        return pool_fail(err, "bad number '%s': expected a whole number from %ld to %ld", text, min,
                         max);
    *out = v;
    return 0;
}

int bytes_parse(const char *text, size_t min, size_t *out, struct pool_error *err)
{
    errno = 0;
    char *end;
    unsigned long long v = text[0] == '-' ? 0 : strtoull(text, &end, 10);
    int shift = 0;
    bool digits = text[0] != '-' && end != text && errno != ERANGE;
    if (digits && *end) {
        const char *unit = strchr("KMGT", toupper((unsigned char)*end));
        shift = unit && *unit ? 10 * (int)(unit - "KMGT" + 1) : -1;
        end++;
        if (shift > 0 && toupper((unsigned char)*end) == 'I')
            end++;
        if (shift > 0 && toupper((unsigned char)*end) == 'B')
            end++;
    }
    if (!digits || shift < 0 || *end || v > (SIZE_MAX >> shift) || (v << shift) < min)
        return pool_fail(err,
                         "bad size '%s': expected a whole number of bytes, at least %zu, with an "
                         "optional unit K, M, G or T (binary: 1K = 1024 bytes)",
                         text, min);
    *out = (size_t)(v << shift);
    return 0;
}

int number_parse(const char *text, double *out, struct pool_error *err)
{
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || errno == ERANGE || !isfinite(v))
        return pool_fail(err, "bad number '%s'", text);
    *out = v;
    return 0;
}

int divisor_parse(const char *text, size_t *out, struct pool_error *err)
{
    long v;
    if (count_parse(text, 1, (long)SIZE_ARG_MAX, &v, err))
        return -1;
    *out = (size_t)v;
    return 0;
}

int ratio_parse(const char *text, struct pool_pass *p, struct pool_error *err)
{
    const char *at = text;
    p->ratio.n = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(at, &end);
        if (end == at || errno == ERANGE || !(v > 0 && v < 1))
            return pool_fail(err,
                             "bad ratio '%s': numbers between 0 and 1 joined by x, like "
                             "0.5 or 0.5x0.7",
                             text);
        if (p->ratio.n == 3)
            return pool_fail(err, "bad ratio '%s': at most 3 values (D x H x W)", text);
        p->ratio.v[p->ratio.n++] = v;
        if (*end == '\0')
            return 0;
        if (*end != 'x' && *end != 'X')
            return pool_fail(err, "bad ratio '%s': unexpected '%c'", text, *end);
        at = end + 1;
    }
}

int seed_parse(const char *text, uint64_t *out, struct pool_error *err)
{
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || errno == ERANGE || text[0] == '-')
        return pool_fail(err, "bad seed '%s': expected a whole number from 0 to 2^64 - 1", text);
    *out = (uint64_t)v;
    return 0;
}

static int flag_value(const char *key, const char *value, bool *out, struct pool_error *err)
{
    if (!value || !strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
        *out = true;
    else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
        *out = false;
    else
        return pool_fail(err, "bad value '%s' for %s: expected 1 or 0", value, key);
    return 0;
}

static int spec_key(struct pool_pass *p, const char *key, const char *value, struct pool_error *err)
{
    static const struct {
        const char *key;
        size_t offset;
    } sizes[] = {
        {"k", offsetof(struct pool_pass, kernel)},
        {"s", offsetof(struct pool_pass, stride)},
        {"p", offsetof(struct pool_pass, padding)},
        {"d", offsetof(struct pool_pass, dilation)},
        {"out", offsetof(struct pool_pass, output_size)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (!strcmp(key, sizes[i].key)) {
            if (!value)
                return pool_fail(err, "%s needs a value, like %s=2", key, key);
            return size_arg_parse(value, (struct size_arg *)((char *)p + sizes[i].offset), err);
        }
    if (!strcmp(key, "ceil"))
        return flag_value(key, value, &p->ceil_mode, err);
    if (!strcmp(key, "cip")) {
        bool on;
        if (flag_value(key, value, &on, err))
            return -1;
        p->pad_count = on ? PAD_COUNT_INCLUDE : PAD_COUNT_EXCLUDE;
        return 0;
    }
    if (!strcmp(key, "div")) {
        if (!value)
            return pool_fail(err, "div needs a value, like div=4");
        return divisor_parse(value, &p->divisor_override, err);
    }
    if (!strcmp(key, "ratio")) {
        if (!value)
            return pool_fail(err, "ratio needs a value, like ratio=0.5");
        return ratio_parse(value, p, err);
    }
    if (!strcmp(key, "seed")) {
        if (!value)
            return pool_fail(err, "seed needs a value, like seed=7");
        p->has_seed = true;
        return seed_parse(value, &p->seed, err);
    }
    if (!strcmp(key, "norm")) {
        if (!value)
            return pool_fail(err, "norm needs a value, like norm=2");
        p->has_norm = true;
        return number_parse(value, &p->norm, err);
    }
    return pool_fail(err, "unknown key '%s' (keys: k s p d ceil cip div norm out ratio seed)", key);
}

int pass_spec_parse(const char *text, struct pool_pass *out, struct pool_error *err)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        return pool_fail(err, "pass spec too long");
    strcpy(buf, text);
    memset(out, 0, sizeof *out);

    char *rest = buf + strcspn(buf, ",");
    if (*rest)
        *rest++ = '\0';
    char *kernel = strchr(buf, ':');
    if (kernel)
        *kernel++ = '\0';
    if (!mode_parse(buf, out))
        return pool_fail(
            err,
            "unknown mode '%s' (modes: max avg min lp mode median nearest fmax gmax gavg "
            "gmin)",
            buf);
    if (kernel && size_arg_parse(kernel, &out->kernel, err))
        return -1;
    while (*rest) {
        char *item = rest;
        rest += strcspn(rest, ",");
        if (*rest)
            *rest++ = '\0';
        char *value = strchr(item, '=');
        if (value)
            *value++ = '\0';
        if (!*item)
            return pool_fail(err, "empty key in pass spec");
        if (spec_key(out, item, value, err))
            return -1;
    }
    return 0;
}
