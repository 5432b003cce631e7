/* --plan: prints what the passes do to a shape (or a file's header) and the warnings about
 * detail they throw away; also gives the same warnings before a real run. */
#ifndef POOL_PLANNER_H
#define POOL_PLANNER_H

#include <stdio.h>

#include "../core/pass.h"
#include "../codec/codec.h"
#include "../core/tensor.h"
#include "options.h"
#include "warnings.h"

/* Prints the plan of the passes for o->plan (a SHAPE or a FILE) and for every input the
 * run would list (FILE arguments, -R, --files-from), one table each, headed by the input's
 * name when there are several. An input that cannot be planned is said and the others go
 * on; returns the exit status (1 when any failed, 2 for a usage error in the list). */
int planner_run(const struct cli_options *o, FILE *out);

/* Gives the warnings of the passes over `in` about WHAT (warnings.h: to NULL says them). */
void planner_warn(struct input_warnings *to, const char *what, const struct pool_pass *passes,
                  size_t npasses, const struct row_geom *in);

/* Where the outputs of the passes over `in` lie on it (codec.h's pixel_grid, from plan.h's
 * origin and stride on height and width); grid->known false when they do not lie on a
 * regular grid or cannot be planned. */
void planner_grid(const struct pool_pass *passes, size_t npasses, const struct row_geom *in,
                  struct pixel_grid *grid);

#endif
