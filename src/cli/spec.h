/* Parsers for the command line's values: sizes ("3", "3x2"), counts, and pass specs
 * ("max:3,s=2,p=1"). Pure functions, so unit tests can reach them. */
#ifndef POOL_SPEC_H
#define POOL_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/error.h"
#include "../core/pass.h"

/* Largest size accepted anywhere: keeps all window arithmetic far from overflow. */
#define SIZE_ARG_MAX ((size_t)1 << 40)

/* "3" or "3x2" or "2x3x3" (at most 3 values); zero allowed (padding), junk refused. */
int size_arg_parse(const char *text, struct size_arg *out, struct pool_error *err);
/* A whole number in [min, max] with no junk. */
int count_parse(const char *text, long min, long max, long *out, struct pool_error *err);
/* A size in bytes: a whole number with an optional binary unit, K, M, G or T (KiB...,
 * case and a trailing B or iB ignored), at least min bytes: "512M", "1G", "1.5GiB" refused
 * (whole numbers only). */
int bytes_parse(const char *text, size_t min, size_t *out, struct pool_error *err);
/* A finite number with no junk. */
int number_parse(const char *text, double *out, struct pool_error *err);
/* Avg's divisor_override: a whole number from 1 to SIZE_ARG_MAX. */
int divisor_parse(const char *text, size_t *out, struct pool_error *err);
/* fmax's ratio: "0.5" or "0.5x0.7" (each in (0, 1)), into p->ratio. */
int ratio_parse(const char *text, struct pool_pass *p, struct pool_error *err);
/* A seed: a whole number from 0 to 2^64 - 1. */
int seed_parse(const char *text, uint64_t *out, struct pool_error *err);
/* MODE[:KERNEL][,key=value...] with keys k s p d ceil cip div norm out ratio seed. */
int pass_spec_parse(const char *text, struct pool_pass *out, struct pool_error *err);

#endif
