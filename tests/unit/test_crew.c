/* crew_run with a reader, a writer and a pooling step of its own: every plane lands in
 * order for any number of workers and planes per turn; a read, a write or a pooling step
 * that fails mid-way stops every worker, and crew_run says that failure, once, with its
 * kind. (The command-line tests cannot fail a read mid-tensor: a truncated .npy is refused
 * by its header, before any worker starts.) */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipeline/crew.h"

enum { ROWS = 3, ROW = 5, PLANE = ROWS * ROW }; /* a plane: 3 rows of 5 uint32 */

/* The reader hands out element i as i; its read that reaches element fail_at fails. */
struct stub_in {
    size_t next, fail_at;
    int reads_failed;
};

static int stub_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct stub_in *s = r->state;
    if (s->next + count > s->fail_at) {
        s->reads_failed++;
        return pool_fail(err, "read failed: stub");
    }
    for (size_t i = 0; i < count; i++)
        ((uint32_t *)buf)[i] = (uint32_t)(s->next + i);
    s->next += count;
    return 0;
}

/* The writer keeps what it is given; its write of row fail_row fails. */
struct stub_out {
    uint32_t *data;
    size_t rows, fail_row;
    int writes_failed;
};

static int stub_write(struct tensor_writer *w, const void *buf, size_t count,
                      struct pool_error *err)
{
    struct stub_out *s = w->state;
    if (count != ROW)
        return pool_fail(err, "a row of %zu elements", count);
    if (s->rows == s->fail_row) {
        s->writes_failed++;
        return pool_fail(err, "write failed: stub");
    }
    memcpy(s->data + s->rows * ROW, buf, ROW * sizeof(uint32_t));
    s->rows++;
    return 0;
}

/* A chain: doubles each element; its call that meets element fail_at fails. */
struct stub_chain {
    size_t fail_at;
};

static int stub_pool(void *chain, const void *in, void *out, struct pool_error *err)
{
    const struct stub_chain *c = chain;
    const uint32_t *a = in;
    for (size_t i = 0; i < PLANE; i++) {
        if (a[i] == c->fail_at)
            return pool_fail(err, "pool failed: stub");
        ((uint32_t *)out)[i] = 2 * a[i];
    }
    return 0;
}

static const struct reader_ops in_ops = {.read = stub_read};
static const struct writer_ops out_ops = {.write = stub_write};

/* One run: planes planes, in groups of group, on n workers; the element where the read,
 * the write (a row number) or the pooling fails (SIZE_MAX: nowhere). Returns crew_run's
 * result, with err and the rows written. */
static int run(size_t planes, size_t group, size_t n, size_t read_fail, size_t write_fail,
               size_t pool_fail_at, struct pool_error *err, struct stub_out *out,
               struct stub_in *in)
{
    *in = (struct stub_in){0, read_fail, 0};
    *out = (struct stub_out){calloc(planes * PLANE, sizeof(uint32_t)), 0, write_fail, 0};
    struct tensor_reader r = {.ops = &in_ops, .state = in};
    struct tensor_writer w = {.ops = &out_ops, .state = out};
    struct crew_work work = {.planes = planes,
                             .group = group,
                             .in_elems = PLANE,
                             .in_bytes = PLANE * sizeof(uint32_t),
                             .out_rows = ROWS,
                             .out_row_elems = ROW,
                             .out_bytes = PLANE * sizeof(uint32_t),
                             .reader = &r,
                             .writer = &w,
                             .pool_plane = stub_pool};
    struct stub_chain chains[8];
    void *list[8];
    for (size_t i = 0; i < n; i++) {
        chains[i].fail_at = pool_fail_at;
        list[i] = &chains[i];
    }
    *err = (struct pool_error){0};
    return crew_run(&work, list, n, err);
}

static void test_order(void)
{
    static const size_t shapes[][3] = {{1, 1, 1},  {2, 1, 2}, {7, 1, 3}, {7, 3, 3},
                                       {10, 4, 2}, {9, 2, 8}, {64, 5, 4}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t planes = shapes[s][0], group = shapes[s][1], n = shapes[s][2];
        struct pool_error err;
        struct stub_out out;
        struct stub_in in;
        CHECK(run(planes, group, n, SIZE_MAX, SIZE_MAX, SIZE_MAX, &err, &out, &in) == 0);
        CHECK_EQ_INT(out.rows, planes * ROWS);
        bool same = true;
        for (size_t i = 0; i < planes * PLANE; i++)
            same &= out.data[i] == 2 * i;
        CHECK(same);
        free(out.data);
    }
}

static void test_failures(void)
{
    for (size_t group = 1; group <= 3; group++)
        for (size_t n = 1; n <= 4; n++) {
            struct pool_error err;
            struct stub_out out;
            struct stub_in in;
            /* the read that reaches plane 5 fails: planes before it may be written, none
             * after, and the message is the reader's, said once */
            CHECK(run(12, group, n, 5 * PLANE + 1, SIZE_MAX, SIZE_MAX, &err, &out, &in) == -1);
            CHECK_EQ_INT(err.kind, ERROR_INPUT);
            CHECK(!strcmp(err.msg, "read failed: stub"));
            CHECK_EQ_INT(in.reads_failed, 1);
            CHECK(out.rows <= 5 * ROWS);
            free(out.data);
            /* the write of row 7 (plane 2) fails: nothing is written after it */
            CHECK(run(12, group, n, SIZE_MAX, 7, SIZE_MAX, &err, &out, &in) == -1);
            CHECK_EQ_INT(err.kind, ERROR_OUTPUT);
            CHECK(!strcmp(err.msg, "write failed: stub"));
            CHECK_EQ_INT(out.writes_failed, 1);
            CHECK_EQ_INT(out.rows, 7);
            free(out.data);
            /* pooling plane 8 fails */
            CHECK(run(12, group, n, SIZE_MAX, SIZE_MAX, 8 * PLANE + 3, &err, &out, &in) == -1);
            CHECK(!strcmp(err.msg, "pool failed: stub"));
            CHECK(out.rows <= 8 * ROWS);
            free(out.data);
        }
}

int main(void)
{
    RUN(test_order());
    RUN(test_failures());
    return check_summary();
}
