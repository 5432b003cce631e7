/* Fuzz harness: a pass SPEC string (-P, src/cli/spec.c), then the pass it gives resolved
 * and laid over a small tensor of 1, 2 and 3 spatial axes (src/core/pass.c). */
#include <stdlib.h>

#include "cli/spec.h"
#include "fuzz.h"

static void lay_over(const struct pool_pass *p, int nspatial)
{
    struct pool_error err;
    struct axis_params ax[3];
    struct row_geom in = {.dtype = DT_F32,
                          .planes = 2,
                          .inner = 1,
                          .nspatial = nspatial,
                          .size = {nspatial == 3 ? 5 : 1, nspatial >= 2 ? 7 : 1, 9}};
    struct row_geom out;
    if (pass_resolve(p, nspatial, ax, &err) == 0)
        pass_out_geom(p, &in, &out, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    if (!text)
        return 0;
    struct pool_pass p;
    struct pool_error err;
    if (pass_spec_parse(text, &p, &err) == 0 && pass_check(&p, &err) == 0)
        for (int n = 1; n <= 3; n++)
            lay_over(&p, n);
    free(text);
    return 0;
}
