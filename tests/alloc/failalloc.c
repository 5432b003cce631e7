/*
 * Allocation failures on demand, for tests/cli/alloc.bats. Linked into
 * tests/alloc/pool-failalloc (pool's own objects) with -Wl,--wrap=NAME for every function
 * below, so that each call pool's code makes to one of them comes here first:
 *
 *   POOL_FAIL_ALLOC=N    the N-th call (counting from 1, over all threads) fails as the
 *                        real function fails when memory runs out: NULL or -1 with errno
 *                        ENOMEM (pthread_create: EAGAIN); every other call goes through.
 *   POOL_COUNT_ALLOC=F   at exit, the number of calls made is written to the file F, so
 *                        that a test knows which N a run reaches.
 *
 * What --wrap cannot reach: the allocations libjpeg, zlib and libc make inside themselves
 * (fopen's FILE, opendir's DIR), since the linker renames only the references in our own
 * objects. libpng allocates through pool's hooks (src/codec/png.c), zlib within it
 * through libpng's, and libexif through pool's allocator (src/codec/exif.c): those count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_realpath(const char *path, char *resolved);
ssize_t __real_getdelim(char **line, size_t *cap, int delim, FILE *f);
FILE *__real_open_memstream(char **buf, size_t *len);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_realpath(const char *path, char *resolved);
ssize_t __wrap_getdelim(char **line, size_t *cap, int delim, FILE *f);
FILE *__wrap_open_memstream(char **buf, size_t *len);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

static atomic_ulong calls;
static unsigned long fail_at; /* 0: none fails */
static const char *count_file;

/* Before main, so before any thread: the settings are read once. */
__attribute__((constructor)) static void failalloc_init(void)
{
    const char *n = getenv("POOL_FAIL_ALLOC");
    fail_at = n ? strtoul(n, NULL, 10) : 0;
    count_file = getenv("POOL_COUNT_ALLOC");
}

/* After main returned (or exit was called): every call has been made. */
__attribute__((destructor)) static void failalloc_report(void)
{
    if (!count_file)
        return;
    FILE *f = fopen(count_file, "w");
    if (f) {
        fprintf(f, "%lu\n", (unsigned long)atomic_load(&calls));
        fclose(f);
    }
}

/* Counts this call; true when it is the one that fails (errno is then ENOMEM). */
static int fails(void)
{
    unsigned long n = atomic_fetch_add(&calls, 1) + 1;
    if (n != fail_at)
        return 0;
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size) { return fails() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) { return fails() ? NULL : __real_calloc(n, size); }

/* A failed realloc leaves p as it was, as the real one does. */
void *__wrap_realloc(void *p, size_t size) { return fails() ? NULL : __real_realloc(p, size); }

char *__wrap_strdup(const char *s) { return fails() ? NULL : __real_strdup(s); }

char *__wrap_realpath(const char *path, char *resolved)
{
    return fails() ? NULL : __real_realpath(path, resolved);
}

/* As when the line's buffer cannot grow: -1, the buffer kept (the caller frees it). */
ssize_t __wrap_getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    return fails() ? -1 : __real_getdelim(line, cap, delim, f);
}

FILE *__wrap_open_memstream(char **buf, size_t *len)
{
    return fails() ? NULL : __real_open_memstream(buf, len);
}

/* A thread's stack is memory too: pthread_create says EAGAIN when it cannot have one. */
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    return fails() ? EAGAIN : __real_pthread_create(t, attr, fn, arg);
}
