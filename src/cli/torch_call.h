/*
 * --from-torch CALL: a PyTorch pooling call, as written in a model's code or printed by
 * print(model), translated to pool's pass specs, so that pool -P "$(pool --from-torch ...)"
 * replays the model's pooling stack.
 *
 * CALL is Python call syntax: positional and keyword arguments; ints, floats, tuples and
 * lists, True, False, None. It is one of
 *   a module constructor   nn.MaxPool2d(3, stride=2)    (prefix nn., torch.nn. or none)
 *   its repr               MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ...)
 *   a functional call      F.max_pool2d(x, 3, 2)        (prefix F., nn.functional.,
 *                                                        torch.nn.functional. or none;
 *                                                        the input x is any name)
 *   several of these       [a, b], nn.Sequential(a, b), or print(nn.Sequential(...))'s
 *                          "Sequential(\n  (0): a\n  (1): b\n)"
 * for the classes of torch.nn.modules.pooling and their functions: MaxPool, AvgPool,
 * LPPool, AdaptiveMaxPool, AdaptiveAvgPool (1d, 2d, 3d) and FractionalMaxPool (2d, 3d).
 * Arguments are bound and checked as Python and PyTorch bind them (positional orders
 * differ between a module and its function: MaxPool2d's return_indices comes before
 * ceil_mode, max_pool2d's after).
 *
 * Note: print(model) leaves out what some layers were built with: an AvgPool's ceil_mode,
 * count_include_pad and divisor_override, and every argument of a FractionalMaxPool (whose
 * repr then fails for want of kernel_size). A repr is translated as what it says.
 */
#ifndef POOL_TORCH_CALL_H
#define POOL_TORCH_CALL_H

#include <stdbool.h>

#include "../core/error.h"

/*
 * Translates text into one spec per pooling layer, in order, joined by single spaces
 * ("max:3x3,s=2,p=1,ceil avg,out=7x7"), stored in *specs (malloc'd: the caller frees it).
 * A 2-d or 3-d layer's kernel is always written in full (3x3), so that the spec refuses
 * an input with another number of spatial axes; stride, padding and dilation are written
 * only when they differ from PyTorch's defaults.
 *
 * Returns 0, or -1 with *specs NULL and err saying what is wrong and where (line and
 * column): a syntax error ("unexpected ')' at column 17"), a layer that is not a pooling
 * one, an argument PyTorch would refuse (named as PyTorch names it), or one that a spec
 * cannot express (return_indices=True, _random_samples, an adaptive output_size of None).
 * Out of memory: ERROR_RESOURCE. No I/O, no global state.
 */
int torch_call_to_specs(const char *text, char **specs, struct pool_error *err);

/* What a user may need told about a translation. */
struct torch_call_notes {
    bool one_d;           /* a 1-d layer: its spec pools every spatial axis it is given */
    bool printed_average; /* an AvgPool from print(model), which omits some arguments */
    bool printed_module;  /* a printed model's children, taken in the order printed */
};
/* torch_call_to_specs, and the notes (when not NULL). */
int torch_call_translate(const char *text, char **specs, struct torch_call_notes *notes,
                         struct pool_error *err);

#endif
