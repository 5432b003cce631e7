#include "warnings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"

struct warning {
    enum warning_kind kind;
    double figure;
    bool estimated;
    char general[160];
    char text[240];
};

/* What the inputs meeting one kind of warning have in common, and their extremes. */
struct tally_entry {
    enum warning_kind kind;
    char general[160];
    size_t inputs, last_input; /* how many met it; the latest (1-based) */
    double low, high;          /* the figures' range */
    bool estimated;            /* some figure is an estimate */
    char *worst;               /* the input with the worst figure */
    char *first;               /* the first input, and its whole warning */
    char first_text[240];
};

void warning_give(struct input_warnings *w, const char *subject, enum warning_kind kind,
                  double figure, bool estimated, const char *general, const char *fmt, ...)
{
    struct warning one = {.kind = kind, .figure = figure, .estimated = estimated};
    snprintf(one.general, sizeof one.general, "%s", general);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one.text, sizeof one.text, fmt, ap);
    va_end(ap);
    if (w && w->count == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        struct warning *list = realloc(w->list, cap * sizeof *list);
        if (list) {
            w->list = list;
            w->cap = cap;
        }
    }
    if (w && w->count < w->cap)
        w->list[w->count++] = one;
    else
        say_warning(subject, "%s", one.text);
}

void warning_give_plan(struct input_warnings *w, const char *subject, const struct pass_plan *plan)
{
    static const enum warning_kind kinds[] = {
        [PLAN_UNREAD] = WARNING_UNREAD,
        [PLAN_WINDOW_TOO_WIDE] = WARNING_WINDOW_TOO_WIDE,
        [PLAN_COLLAPSE] = WARNING_COLLAPSE,
    };
    for (int i = 0; i < plan->nwarnings; i++) {
        const struct plan_warning *p = &plan->warnings[i];
        warning_give(w, subject, kinds[p->kind], p->percent, false, p->general, "%s", p->text);
    }
}

void input_warnings_clear(struct input_warnings *w)
{
    free(w->list);
    memset(w, 0, sizeof *w);
}

/* Lower is worse for PSNR; higher for the share of input never read. */
static bool worse(enum warning_kind kind, double a, double b)
{
    return kind == WARNING_PSNR ? a < b : a > b;
}

static struct tally_entry *entry_for(struct warning_tally *t, const struct warning *w)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->entries[i].kind == w->kind && !strcmp(t->entries[i].general, w->general))
            return &t->entries[i];
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        struct tally_entry *e = realloc(t->entries, cap * sizeof *e);
        if (!e)
            return NULL;
        t->entries = e;
        t->cap = cap;
    }
    struct tally_entry *e = &t->entries[t->count++];
    memset(e, 0, sizeof *e);
    e->kind = w->kind;
    memcpy(e->general, w->general, sizeof e->general);
    return e;
}

void tally_add(struct warning_tally *t, const struct input_warnings *w, const char *subject)
{
    t->inputs++;
    for (size_t i = 0; w && i < w->count; i++) {
        const struct warning *one = &w->list[i];
        struct tally_entry *e = entry_for(t, one);
        if (!e) { /* out of memory: say it now rather than lose it */
            say_warning(subject, "%s", one->text);
            continue;
        }
        if (e->last_input == t->inputs)
            continue; /* an input with several images counts once */
        e->last_input = t->inputs;
        bool first = e->inputs++ == 0;
        if (first) {
            e->low = e->high = one->figure;
            e->first = strdup(subject);
            memcpy(e->first_text, one->text, sizeof e->first_text);
        }
        char *copy = NULL;
        if ((first || worse(one->kind, one->figure, e->kind == WARNING_PSNR ? e->low : e->high)) &&
            (copy = strdup(subject))) {
            free(e->worst);
            e->worst = copy;
        }
        e->low = fmin(e->low, one->figure);
        e->high = fmax(e->high, one->figure);
        e->estimated |= one->estimated;
    }
}

static void say_entry(const struct tally_entry *e, size_t inputs, bool stats_given)
{
    char who[64];
    snprintf(who, sizeof who, "%zu of %zu inputs", e->inputs, inputs);
    const char *worst = e->worst ? e->worst : "?";
    switch (e->kind) {
    case WARNING_UNREAD:
        if (e->low == e->high)
            say_warning(who, "%s: %.0f%% of input elements are never read", e->general, e->low);
        else
            say_warning(who, "%s: %.0f%% to %.0f%% of input elements are never read (most in %s)",
                        e->general, e->low, e->high, worst);
        break;
    case WARNING_PSNR:
        say_warning(who, "%s, the lowest %s%.1f dB (%s): much of their detail is lost%s",
                    e->general, e->estimated ? "about " : "", e->low, worst,
                    stats_given ? "" : "; --stats gives every input's figure");
        break;
    case WARNING_WINDOW_TOO_WIDE:
    case WARNING_COLLAPSE:
    case WARNING_PALETTE_EXPANDED:
    case WARNING_LAYOUT:
    case WARNING_WITHIN_SIZE:
    case WARNING_CODE_TYPE:
    case WARNING_GEOREF:
    case WARNING_LOSSY_LABELS: say_warning(who, "%s", e->general); break;
    case WARNING_DECODER: say_warning(who, "%s; %s among them", e->general, e->first); break;
    }
}

void tally_say(const struct warning_tally *t, bool stats_given)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct tally_entry *e = &t->entries[i];
        if (e->inputs == 1 && e->first)
            say_warning(e->first, "%s", e->first_text);
        else
            say_entry(e, t->inputs, stats_given);
    }
}

void tally_free(struct warning_tally *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->entries[i].worst);
        free(t->entries[i].first);
    }
    free(t->entries);
    memset(t, 0, sizeof *t);
}
