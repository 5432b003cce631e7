/* realpath() is XSI. */
#define _XOPEN_SOURCE 700

#include "output.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temp files a signal handler must remove (outputs, stats files, saved passes, contact
 * sheets), from every thread. Slots are claimed and cleared with atomic exchanges, which a
 * signal handler may read (C11 7.14.1.1: lock-free atomics are async-signal-safe); an
 * entry points at its output_file's own temp_path and is cleared before that is freed. */
#define MAX_PENDING_TEMPS 2048
static _Atomic(char *) pending_temps[MAX_PENDING_TEMPS];

/* The process's umask, read once at start-up: reading it means setting it, which would
 * race with threads creating files. */
static mode_t creation_mask = 022;

/* A progress line is drawn on stderr: an interrupt ends it, so the shell's prompt that
 * follows starts on a line of its own. */
static atomic_bool line_open;

void output_line_open(bool open) { atomic_store(&line_open, open); }

/* Held while a temp file is created and registered, and renamed into place: once the
 * interrupt thread holds it, no worker makes a temp file it would not see, or renames one
 * it removed. */
static pthread_mutex_t creating = PTHREAD_MUTEX_INITIALIZER;
static pthread_t interrupt_thread;
static bool interrupt_thread_started;
static sigset_t interrupts; /* SIGINT, SIGTERM, SIGHUP */

/* Async-signal-safe: the lock-free atomics and unlink, write, signal and raise. */
static void remove_temps_and_die(int sig)
{
    for (int i = 0; i < MAX_PENDING_TEMPS; i++) {
        char *path = atomic_load(&pending_temps[i]);
        if (path)
            unlink(path);
    }
    if (atomic_load(&line_open) && write(STDERR_FILENO, "\n", 1) < 0)
        (void)0; /* nothing to be done about stderr in a dying process */
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
}

/* Interrupts come to this thread alone (every other has them blocked). Unlike a handler,
 * which runs while the other threads go on, it can stop new temp files first. */
static void *take_interrupts(void *unused)
{
    (void)unused;
    int sig;
    while (sigwait(&interrupts, &sig) != 0)
        ;
    pthread_mutex_lock(&creating); /* never unlocked: the process ends */
    remove_temps_and_die(sig);
    return NULL;
}

/* A signal ignored when pool started stays ignored: whoever started it asked for that
 * (nohup ignores SIGHUP, a shell ignores SIGINT in its background jobs, and a parent that
 * ignores SIGPIPE gets "write failed: Broken pipe" and status 1, as from cat). */
static bool ignored_at_start(int sig)
{
    struct sigaction sa;
    return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

void output_init(void)
{
    creation_mask = umask(0);
    umask(creation_mask);
    static const int taken[] = {SIGINT, SIGTERM, SIGHUP};
    bool any = false;
    sigemptyset(&interrupts);
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (!ignored_at_start(taken[i])) {
            sigaddset(&interrupts, taken[i]);
            any = true;
        }
    /* Blocked here, before any thread starts, so in every thread but the one that waits. */
    if (any && pthread_sigmask(SIG_BLOCK, &interrupts, NULL) == 0 &&
        pthread_create(&interrupt_thread, NULL, take_interrupts, NULL) == 0)
        interrupt_thread_started = true;
    else if (any)
        pthread_sigmask(SIG_UNBLOCK, &interrupts, NULL);
    /* SIGPIPE comes to the thread that wrote to the closed pipe (stdout or stderr): a handler
     * there. So do interrupts, if their thread could not start. */
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < (interrupt_thread_started ? 1 : sizeof sigs / sizeof sigs[0]); i++) {
        if (ignored_at_start(sigs[i]))
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_temps_and_die;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

void output_end(void)
{
    if (!interrupt_thread_started)
        return;
    pthread_cancel(interrupt_thread); /* (sigwait is a cancellation point) */
    pthread_join(interrupt_thread, NULL);
    interrupt_thread_started = false;
}

static bool add_pending_temp(char *path)
{
    for (int i = 0; i < MAX_PENDING_TEMPS; i++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&pending_temps[i], &expected, path))
            return true;
    }
    return false;
}

static void drop_pending_temp(char *path)
{
    for (int i = 0; i < MAX_PENDING_TEMPS; i++) {
        char *expected = path;
        if (atomic_compare_exchange_strong(&pending_temps[i], &expected, NULL))
            return;
    }
}

/* The most of the destination's name a temp name keeps: with the 13 bytes added it stays
 * within NAME_MAX (255) however long the name. */
#define TEMP_BASE_MAX 200

/* "dir/name.npy" -> "dir/.name.npy.pool-XXXXXX", in the destination's folder so that
 * rename() stays on one file system and is atomic. */
static char *temp_name_for(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    size_t base_len = strlen(base) < TEMP_BASE_MAX ? strlen(base) : TEMP_BASE_MAX;
    size_t len = dir_len + 1 + base_len + sizeof ".pool-XXXXXX";
    char *t = malloc(len);
    if (t)
        snprintf(t, len, "%.*s.%.*s.pool-XXXXXX", (int)dir_len, path, (int)base_len, base);
    return t;
}

/* Gives an opened file the larger buffer (stdio's own if memory is short). */
static void buffer_output(struct output_file *o)
{
    o->buffer = malloc(OUTPUT_BUFFER);
    if (o->buffer)
        setvbuf(o->fp, o->buffer, _IOFBF, OUTPUT_BUFFER);
}

/* Closes fp, then frees its buffer (stdio uses it to the end); 0 or EOF as fclose. */
static int close_output(struct output_file *o)
{
    int rc = fclose(o->fp);
    o->fp = NULL;
    free(o->buffer);
    o->buffer = NULL;
    return rc;
}

/* A device, FIFO or socket (/dev/null, a named pipe) is written in place: renaming a file
 * over it would replace the device itself. */
static int open_in_place(struct output_file *o, const char *path, struct pool_error *err)
{
    o->fp = fopen(path, "wb");
    if (!o->fp)
        return pool_fail(err, "cannot open: %s", strerror(errno));
    buffer_output(o);
    return 0;
}

int output_open(struct output_file *o, const char *path, struct pool_error *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (!strcmp(path, "-")) {
        o->fp = stdout;
        return 0;
    }
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return pool_fail(err, "is a directory");
        return open_in_place(o, path, err);
    }
    /* A symbolic link stays a link: the finished file replaces what it points to. */
    o->resolved_path = realpath(path, NULL);
    if (o->resolved_path)
        o->path = o->resolved_path;
    o->temp_path = temp_name_for(o->path);
    if (!o->temp_path)
        return pool_fail_resource(err, "out of memory");
    pthread_mutex_lock(&creating);
    int fd = mkstemp(o->temp_path);
    int e = errno;
    bool registered = fd >= 0 && add_pending_temp(o->temp_path);
    pthread_mutex_unlock(&creating);
    if (fd < 0) {
        free(o->temp_path);
        o->temp_path = NULL;
        return pool_fail(err, "cannot create a file in its folder: %s", strerror(e));
    }
    if (!registered) {
        close(fd);
        output_abort(o);
        return pool_fail(err, "too many files open for writing at once");
    }
    /* mkstemp makes the file 0600: a file being replaced keeps its own permissions (a
     * private file stays private), a new one gets what a plain fopen would give it. */
    fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~creation_mask);
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        e = errno;
        close(fd);
        output_abort(o);
        return pool_fail(err, "cannot open: %s", strerror(e));
    }
    buffer_output(o);
    return 0;
}

int output_commit(struct output_file *o, struct pool_error *err)
{
    if (!o->temp_path) {
        bool failed = fflush(o->fp) != 0 || ferror(o->fp) != 0;
        int e = errno;
        if (o->fp != stdout && close_output(o) && !failed) {
            failed = true;
            e = errno;
        }
        if (failed)
            return pool_fail(err, "write failed: %s", strerror(e));
        return 0;
    }
    bool failed = ferror(o->fp) != 0;
    if (close_output(o) || failed) {
        int e = errno;
        output_abort(o);
        return pool_fail(err, "write failed: %s", strerror(e));
    }
    /* Under the lock, as temp files are made: an interrupt finds each output either whole
     * under its name or pending, never half-renamed. */
    pthread_mutex_lock(&creating);
    int moved = rename(o->temp_path, o->path), e = errno;
    if (moved == 0)
        drop_pending_temp(o->temp_path);
    pthread_mutex_unlock(&creating);
    if (moved) {
        output_abort(o);
        return pool_fail(err, "cannot rename the finished file into place: %s", strerror(e));
    }
    free(o->temp_path);
    o->temp_path = NULL;
    return 0;
}

void output_abort(struct output_file *o)
{
    if (o->fp && o->fp != stdout)
        close_output(o);
    o->fp = NULL;
    free(o->resolved_path);
    o->resolved_path = NULL;
    if (o->temp_path) {
        drop_pending_temp(o->temp_path);
        unlink(o->temp_path);
        free(o->temp_path);
        o->temp_path = NULL;
    }
}

/* A path's folder with links resolved, and its last part: where a file there would land. */
static char *destination(const char *path)
{
    char *copy = strdup(path), *slash = copy ? strrchr(copy, '/') : NULL;
    if (!copy)
        return NULL;
    const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
    const char *base = slash ? slash + 1 : copy;
    if (slash)
        *slash = '\0';
    char *real = realpath(dir, NULL), *out = NULL;
    size_t len = real ? strlen(real) + strlen(base) + 2 : 0;
    if (real && (out = malloc(len)))
        snprintf(out, len, "%s/%s", real, base);
    free(real);
    free(copy);
    return out;
}

bool output_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!strcmp(a, "-") || !strcmp(b, "-"))
        return false;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *da = destination(a), *db = destination(b);
    bool same = da && db && !strcmp(da, db);
    free(da);
    free(db);
    return same;
}
