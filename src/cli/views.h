/*
 * Seeing the passes: --save-passes writes every pass's output beside the result, and
 * --contact-sheet draws the input and every pass side by side. Both take rows from the
 * pipeline's tap as they stream; their files appear only when the whole run succeeds.
 */
#ifndef POOL_VIEWS_H
#define POOL_VIEWS_H

#include "../codec/codec.h"
#include "sheet.h"
#include "../pipeline/pipeline.h"
#include "inputs.h"
#include "options.h"
#include "output.h"

struct pass_views {
    const struct cli_options *opt;
    size_t npasses;
    /* --save-passes: one file per pass of the current input */
    struct output_file *files;
    char **paths;
    struct tensor_writer *writers;
    size_t *row_elems;
    struct image_meta *saved_metas; /* per pass: the current image's (see set_saved_metas) */
    bool files_open;
    /* --contact-sheet: the first image only */
    struct contact_sheet *sheet;
    struct output_file sheet_file;
    bool sheet_drawn;
    unsigned sheet_maxval;          /* codes below the full range (a PNM maxval): stretch them */
    size_t *panel_elems;            /* per panel: elements in one of its rows */
    struct panel_caption *captions; /* per panel: drawn when the sheet is finished */
    void *stretched;                /* a panel row, stretched or in colours */
    bool sheet_colours;             /* a palette image: indices drawn as their colours */
    unsigned char sheet_palette[256][3];
    /* the file being opened or begun, which a failure there is about */
    const char *working_on;
};

bool views_wanted(const struct cli_options *o);
/* Before anything is read: two inputs whose saved passes would have the same names. */
int views_check_inputs(const struct cli_options *o, const struct input_list *l,
                       struct pool_error *err);
/* Each call that fails says which view file it was about (ERROR_OUTPUT and its path). */
/* Installs the tap: call before pipeline_build. */
void views_tap_into(struct pass_views *v, struct pipeline_options *po);
/* After the pipeline is built for an image (image: 1-based within the input). A crop
 * that does not fit the image fails as the input's (ERROR_INPUT, input_path). */
int views_begin_image(struct pass_views *v, const char *input_path, const struct tensor_reader *r,
                      size_t image, const struct pipeline *p, const struct pool_pass *passes,
                      bool rescaled, struct pool_error *err);
/* After the image's rows have all gone through. stack_psnr: per pass (npasses, in pass
 * order), the PSNR of the stack up to that pass against the input, for the sheet's
 * captions; NULL or NaN: not known (the caption leaves it out), +inf: lossless. */
int views_end_image(struct pass_views *v, const double *stack_psnr, struct pool_error *err);
/* After the input's last image: the saved passes are complete. */
int views_end_input(struct pass_views *v, struct pool_error *err);
/* After everything succeeded: the files appear. */
int views_commit(struct pass_views *v, struct pool_error *err);
void views_abort(struct pass_views *v);

#endif
