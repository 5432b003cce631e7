/* --samples FILE.npy: PyTorch's _random_samples for fractional max pooling, so that fmax
 * can be compared with PyTorch exactly. */
#ifndef POOL_SAMPLES_H
#define POOL_SAMPLES_H

#include <stddef.h>

#include "../core/error.h"

/* Reads a float32 or float64 array of shape (..., 2 or 3), PyTorch's (N, C, 2) for 2-D and
 * (N, C, 3) for 3-D, every value in [0, 1), into *values (malloc'd, as doubles, exact):
 * *sets = the product of the leading axes, *dims = the last. Errors name the file. */
int samples_load(const char *path, double **values, size_t *sets, int *dims,
                 struct pool_error *err);

#endif
