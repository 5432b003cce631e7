/* --plan: prints what the passes do to a shape (or a file's header) and the warnings about
 * detail they throw away; also gives the same warnings before a real run. */
#ifndef POOL_PLANNER_H
#define POOL_PLANNER_H

#include <stdio.h>

#include "../core/pass.h"
#include "../core/tensor.h"
#include "options.h"

/* Prints the plan of the passes for o->plan; returns the exit status. */
int planner_run(const struct cli_options *o, FILE *out);

/* Prints the warnings of the passes over `in` as "pool: WHAT: warning: ..." to `to`
 * (NULL: stderr). */
void planner_warn(FILE *to, const char *what, const struct pool_pass *passes, size_t npasses,
                  const struct row_geom *in);

#endif
