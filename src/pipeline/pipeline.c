#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

/* The last stage's sink: rows leave the pipeline here. */
static int write_row(void *ctx, const void *row, struct pool_error *err)
{
    struct pipeline *p = ctx;
    return p->writer->ops->write(p->writer, row, geom_row_elems(&p->out), err);
}

static int push_to_stage(void *ctx, const void *row, struct pool_error *err)
{
    return stage_push(ctx, row, err);
}

int pipeline_build(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                   const struct row_geom *in, struct pool_error *err)
{
    memset(p, 0, sizeof *p);
    p->in = p->out = *in;
    p->stages = calloc(npasses ? npasses : 1, sizeof *p->stages);
    p->in_row = malloc(geom_row_elems(in) * dtype_size(in->dtype));
    if (!p->stages || !p->in_row)
        return pool_fail(err, "out of memory");
    for (size_t i = 0; i < npasses; i++) {
        struct pool_error why;
        if (stage_create(&p->stages[i], &passes[i], &p->out, &why))
            return pool_fail(err, "pass %zu (%s): %s", i + 1, mode_name(&passes[i]), why.msg);
        p->nstages++;
        p->out = *stage_out_geom(p->stages[i]);
        if (i > 0)
            stage_set_sink(p->stages[i - 1], push_to_stage, p->stages[i]);
    }
    if (p->nstages)
        stage_set_sink(p->stages[p->nstages - 1], write_row, p);
    return 0;
}

int pipeline_run(struct pipeline *p, struct tensor_reader *r, struct tensor_writer *w,
                 enum pipe_side *side, struct pool_error *err)
{
    size_t row_elems = geom_row_elems(&p->in);
    size_t rows = p->in.planes * geom_rows_per_plane(&p->in);
    p->writer = w;
    for (size_t i = 0; i < rows; i++) {
        *side = SIDE_INPUT;
        if (r->ops->read(r, p->in_row, row_elems, err))
            return -1;
        /* A failing sink is the writer: stages themselves never fail once built. */
        *side = SIDE_OUTPUT;
        int rc = p->nstages ? stage_push(p->stages[0], p->in_row, err)
                            : write_row(p, p->in_row, err);
        if (rc)
            return -1;
    }
    *side = SIDE_INPUT;
    if (r->ops->finish && r->ops->finish(r, err))
        return -1;
    return 0;
}

void pipeline_free(struct pipeline *p)
{
    for (size_t i = 0; i < p->nstages; i++)
        stage_free(p->stages[i]);
    free(p->stages);
    free(p->in_row);
    memset(p, 0, sizeof *p);
}
