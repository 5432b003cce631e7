/* Fuzz harness: the PyTorch-call translator (--from-torch, src/cli/torch_call.c). What it
 * translates must be pass specs that parse (src/cli/spec.c): else it aborts. */
#include <stdlib.h>
#include <string.h>

#include "cli/spec.h"
#include "cli/torch_call.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    if (!text)
        return 0;
    char *specs = NULL;
    struct torch_call_notes notes;
    struct pool_error err;
    if (torch_call_translate(text, &specs, &notes, &err) == 0) {
        char *save = NULL;
        for (char *spec = strtok_r(specs, " ", &save); spec; spec = strtok_r(NULL, " ", &save)) {
            struct pool_pass p;
            if (pass_spec_parse(spec, &p, &err) || pass_check(&p, &err))
                abort();
        }
        free(specs);
    } else if (specs) {
        abort(); /* the contract: NULL on failure */
    }
    free(text);
    return 0;
}
