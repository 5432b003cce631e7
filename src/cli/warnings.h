/*
 * Warnings about what the passes do to the inputs of a run. With one input each warning
 * is said as it is met ("pool: INPUT: warning: ..."). With several (a batch, or a table of
 * many inputs) each input's warnings are kept aside and handed, in input order, to a tally
 * that counts the inputs meeting each kind and says one line per kind at the end:
 *
 *     pool: 37 of 300 inputs: warning: pass 1 (max): PSNR below 18 dB against the
 *     input, the lowest about 12.3 dB (photos/x.png): ...; --stats gives every input's figure
 *
 * so a folder of photos gives a few lines, the same for any number of workers.
 */
#ifndef POOL_WARNINGS_H
#define POOL_WARNINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/plan.h"

enum warning_kind {
    WARNING_UNREAD, /* figure: percent of input elements never read */
    WARNING_WINDOW_TOO_WIDE,
    WARNING_COLLAPSE,
    WARNING_PSNR,             /* figure: the stack's PSNR against the input, in dB */
    WARNING_PALETTE_EXPANDED, /* a palette image pooled as colours by avg or lp */
    WARNING_LAYOUT,           /* a 4-D tensor that looks channels-last, read as nchw */
    WARNING_WITHIN_SIZE,      /* --size: the image is no larger, kept at its size */
    WARNING_CODE_TYPE,        /* --output-dtype u8 <-> u16 on an image's samples */
    WARNING_DECODER,          /* what a reader went on past (codec.h, struct reader_notes) */
    WARNING_GEOREF,           /* GeoTIFF georeferencing that could not follow the passes */
    WARNING_LOSSY_LABELS,     /* values picked by a label mode, written lossily */
};

/* One input's warnings, kept for the tally. */
struct input_warnings {
    struct warning *list;
    size_t count, cap;
};

/* Gives a warning about subject: said at once when w is NULL (or memory is short), else
 * kept in w. `general` says the kind without this input's figures (the same text for every
 * input that meets it: "pass 1 (max): stride 3 > kernel 2"); fmt... is the whole warning.
 * `estimated`: the figure is an estimate ("about"). */
void warning_give(struct input_warnings *w, const char *subject, enum warning_kind kind,
                  double figure, bool estimated, const char *general, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* A plan's warnings (src/core/plan.h), given as above. */
void warning_give_plan(struct input_warnings *w, const char *subject, const struct pass_plan *plan);

void input_warnings_clear(struct input_warnings *w);

/* Counts per kind (its general text) over the inputs of a run. Memory grows with the
 * number of kinds met, never with the number of inputs. */
struct warning_tally {
    struct tally_entry *entries;
    size_t count, cap;
    size_t inputs; /* inputs handed over, with warnings or without */
};

/* Adds one input's warnings (w may be empty or NULL); call once per input that was run,
 * in input order. */
void tally_add(struct warning_tally *t, const struct input_warnings *w, const char *subject);

/* Says one line per kind on stderr: for a kind met by one input only, that input's own
 * warning line; for more, "pool: K of N inputs: ..." with the range of the figures and
 * the input with the worst one. */
void tally_say(const struct warning_tally *t, bool stats_given);

void tally_free(struct warning_tally *t);

#endif
