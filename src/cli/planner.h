/* --plan: prints what the passes do to a shape (or a file's header) and the warnings about
 * detail they throw away; also gives the same warnings before a real run. */
#ifndef POOL_PLANNER_H
#define POOL_PLANNER_H

#include <stdio.h>

#include "../core/pass.h"
#include "../core/tensor.h"
#include "options.h"
#include "warnings.h"

/* Prints the plan of the passes for o->plan; returns the exit status. */
int planner_run(const struct cli_options *o, FILE *out);

/* Gives the warnings of the passes over `in` about WHAT (warnings.h: to NULL says them). */
void planner_warn(struct input_warnings *to, const char *what, const struct pool_pass *passes,
                  size_t npasses, const struct row_geom *in);

#endif
