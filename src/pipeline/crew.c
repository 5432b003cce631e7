#include "crew.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct crew {
    const struct crew_work *work;
    pthread_mutex_t lock;
    pthread_cond_t written; /* next_write moved on, or a worker failed */
    size_t next_read, next_write;
    bool failed;
    struct pool_error err; /* the first failure */
};

struct worker {
    struct crew *crew;
    void *chain;
    unsigned char *in, *out;
    pthread_t thread;
    bool started;
};

/* Under the lock: the first failure stops everyone. */
static void fail_locked(struct crew *c, const struct pool_error *why)
{
    if (!c->failed)
        c->err = *why;
    c->failed = true;
    pthread_cond_broadcast(&c->written);
}

/* The planes in group g: work->group, or fewer for the last. */
static size_t group_planes(const struct crew_work *k, size_t g)
{
    size_t left = k->planes - g * k->group;
    return left < k->group ? left : k->group;
}

/* Takes the next group of planes and reads it, under the lock (the reader is one stream);
 * SIZE_MAX when none is left or a worker failed. */
static size_t read_next_group(struct worker *w)
{
    struct crew *c = w->crew;
    const struct crew_work *k = c->work;
    struct pool_error why = {0};
    size_t group = SIZE_MAX;
    pthread_mutex_lock(&c->lock);
    if (!c->failed && c->next_read < (k->planes + k->group - 1) / k->group) {
        group = c->next_read++;
        if (k->reader->ops->read(k->reader, w->in, group_planes(k, group) * k->in_elems, &why)) {
            pool_blame(&why, ERROR_INPUT, NULL);
            fail_locked(c, &why);
            group = SIZE_MAX;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return group;
}

/* Waits for the groups before this one to be written, then writes it: only the worker
 * whose turn it is writes, so the writer needs no lock of its own. */
static int write_in_turn(struct worker *w, size_t group)
{
    struct crew *c = w->crew;
    const struct crew_work *k = c->work;
    pthread_mutex_lock(&c->lock);
    while (!c->failed && c->next_write != group)
        pthread_cond_wait(&c->written, &c->lock);
    bool stop = c->failed;
    pthread_mutex_unlock(&c->lock);
    if (stop)
        return -1;
    struct pool_error why = {0};
    size_t row_bytes = k->out_rows ? k->out_bytes / k->out_rows : 0;
    size_t rows = group_planes(k, group) * k->out_rows;
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < rows; r++)
        rc = k->writer->ops->write(k->writer, w->out + r * row_bytes, k->out_row_elems, &why);
    pthread_mutex_lock(&c->lock);
    if (rc) {
        pool_blame(&why, ERROR_OUTPUT, NULL);
        fail_locked(c, &why);
    } else {
        c->next_write++;
        pthread_cond_broadcast(&c->written);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void *work_planes(void *arg)
{
    struct worker *w = arg;
    struct crew *c = w->crew;
    const struct crew_work *k = c->work;
    for (size_t group; (group = read_next_group(w)) != SIZE_MAX;) {
        struct pool_error why = {0};
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < group_planes(k, group); i++)
            rc = k->pool_plane(w->chain, w->in + i * k->in_bytes, w->out + i * k->out_bytes, &why);
        if (rc) {
            pthread_mutex_lock(&c->lock);
            fail_locked(c, &why);
            pthread_mutex_unlock(&c->lock);
            break;
        }
        if (write_in_turn(w, group))
            break;
    }
    return NULL;
}

int crew_run(const struct crew_work *work, void *const *chains, size_t n, struct pool_error *err)
{
    struct crew c = {.work = work};
    struct worker *workers = calloc(n, sizeof *workers);
    if (!workers)
        return 1;
    size_t ready = 0, in_bytes = work->group * work->in_bytes;
    size_t out_bytes = work->group * work->out_bytes;
    for (; ready < n; ready++) {
        struct worker *w = &workers[ready];
        *w = (struct worker){
            &c, chains[ready], malloc(in_bytes ? in_bytes : 1), malloc(out_bytes ? out_bytes : 1),
            0,  false};
        if (!w->in || !w->out) {
            free(w->in);
            free(w->out);
            break;
        }
    }
    if (ready == 0) {
        free(workers);
        return 1;
    }
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.written, NULL);
    /* this thread is worker 0; a thread that cannot be had leaves its planes to the rest */
    for (size_t i = 1; i < ready; i++)
        workers[i].started = pthread_create(&workers[i].thread, NULL, work_planes, &workers[i]) ==
                             0;
    work_planes(&workers[0]);
    for (size_t i = 1; i < ready; i++)
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
    for (size_t i = 0; i < ready; i++) {
        free(workers[i].in);
        free(workers[i].out);
    }
    free(workers);
    pthread_cond_destroy(&c.written);
    pthread_mutex_destroy(&c.lock);
    if (c.failed) {
        *err = c.err;
        return -1;
    }
    return 0;
}
