#include "prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct prefetch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct tensor_reader *reader;
    size_t row_elems, row_bytes, total_rows, batch_rows;
    unsigned char *slot[PREFETCH_SLOTS];
    size_t slot_rows[PREFETCH_SLOTS];
    size_t produced, consumed; /* batches; slot of batch i is i % PREFETCH_SLOTS */
    bool held;                 /* the consumer still uses batch consumed - 1 */
    bool failed, stop;
    struct pool_error err;
};

static size_t batches_total(const struct prefetch *p)
{
    return (p->total_rows + p->batch_rows - 1) / p->batch_rows;
}

static void *read_ahead(void *arg)
{
    struct prefetch *p = arg;
    for (size_t b = 0; b < batches_total(p); b++) {
        pthread_mutex_lock(&p->lock);
        /* Keep one slot for the batch the consumer is still working on. */
        while (!p->stop && p->produced - p->consumed + p->held >= PREFETCH_SLOTS)
            pthread_cond_wait(&p->changed, &p->lock);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            break;
        size_t rows = p->total_rows - b * p->batch_rows;
        if (rows > p->batch_rows)
            rows = p->batch_rows;
        struct pool_error err;
        int rc = p->reader->ops->read(p->reader, p->slot[b % PREFETCH_SLOTS], rows * p->row_elems,
                                      &err);
        pthread_mutex_lock(&p->lock);
        if (rc) {
            p->failed = true;
            p->err = err;
        } else {
            p->slot_rows[b % PREFETCH_SLOTS] = rows;
            p->produced++;
        }
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        if (rc)
            break;
    }
    return NULL;
}

static void free_slots(struct prefetch *p)
{
    for (int i = 0; i < PREFETCH_SLOTS; i++)
        free(p->slot[i]);
}

struct prefetch *prefetch_start(struct tensor_reader *r, size_t row_elems, size_t row_bytes,
                                size_t total_rows, size_t batch_rows)
{
    struct prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    *p = (struct prefetch){.reader = r,
                           .row_elems = row_elems,
                           .row_bytes = row_bytes,
                           .total_rows = total_rows,
                           .batch_rows = batch_rows};
    for (int i = 0; i < PREFETCH_SLOTS; i++)
        if (!(p->slot[i] = malloc(batch_rows * row_bytes))) {
            free_slots(p);
            free(p);
            return NULL;
        }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    if (pthread_create(&p->thread, NULL, read_ahead, p)) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->changed);
        free_slots(p);
        free(p);
        return NULL;
    }
    return p;
}

const void *prefetch_next(struct prefetch *p, size_t *rows, struct pool_error *err)
{
    pthread_mutex_lock(&p->lock);
    if (p->held) {
        p->held = false;
        pthread_cond_broadcast(&p->changed);
    }
    while (p->produced == p->consumed && !p->failed)
        pthread_cond_wait(&p->changed, &p->lock);
    const void *batch = NULL;
    if (p->produced > p->consumed) {
        size_t slot = p->consumed % PREFETCH_SLOTS;
        batch = p->slot[slot];
        *rows = p->slot_rows[slot];
        p->consumed++;
        p->held = true;
    } else {
        *err = p->err;
    }
    pthread_mutex_unlock(&p->lock);
    return batch;
}

void prefetch_stop(struct prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
    free_slots(p);
    free(p);
}
