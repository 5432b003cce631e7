#include "batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../codec/codec.h"
#include "messages.h"

/* A growing string. */
struct text {
    char *s;
    size_t len, cap;
    bool failed;
};

static void append(struct text *t, const char *bytes, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 128;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, bytes, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void append_str(struct text *t, const char *s) { append(t, s, strlen(s)); }

/* The input's own extension ("png" of "a/x.png"), or "" when it has none. */
static const char *extension_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : "";
}

/* The output's extension: -f's format's, else the input's own, else its format's. */
static const char *output_extension(const struct cli_options *o, const char *input)
{
    if (o->format != FORMAT_UNKNOWN)
        return format_extension(o->format);
    const char *own = extension_of(input);
    if (*own)
        return own;
    unsigned char bytes[SOURCE_PEEK_MAX];
    size_t n = 0;
    FILE *f = fopen(input, "rb");
    if (f) {
        n = fread(bytes, 1, sizeof bytes, f);
        fclose(f);
    }
    const char *ext = format_extension(format_sniff(bytes, n));
    return ext ? ext : "out";
}

/* The name without folder and extension. */
static void append_stem(struct text *t, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *ext = extension_of(base);
    append(t, base, *ext ? (size_t)(ext - 1 - base) : strlen(base));
}

/* The folder of a relative path, without its last '/': "a/b" of "a/b/x.png", "" of "x.png". */
static void append_folder(struct text *t, const char *relative)
{
    const char *slash = strrchr(relative, '/');
    append(t, relative, slash ? (size_t)(slash - relative) : 0);
}

static int expand_template(struct text *t, const char *template, const struct cli_options *o,
                           const struct input_list *l, size_t i, const struct input_path *p,
                           struct pool_error *err)
{
    const char *input = p->path, *relative = p->path + p->root_len;
    for (const char *c = template; *c; c++) {
        if (*c != '%') {
            append(t, c, 1);
            continue;
        }
        char num[24];
        switch (*++c) {
        case 'n': append_stem(t, input); break;
        case 'e': append_str(t, output_extension(o, input)); break;
        case 'd':
            append_folder(t, relative);
            if (!strchr(relative, '/') && c[1] == '/')
                c++; /* at the top: "small/%d/%n" is small/x, not small//x */
            break;
        case 'i':
            snprintf(num, sizeof num, "%zu", inputs_number(l, i) + 1);
            append_str(t, num);
            break;
        case '%': append(t, "%", 1); break;
        case '\0':
            pool_fail(err, "a %% ends the output template: write %%%% for a %%");
            return pool_blame(err, ERROR_USAGE, template);
        default:
            pool_fail(err, "%%%c: unknown code in the output template (%%n %%e %%d %%i %%%%)", *c);
            return pool_blame(err, ERROR_USAGE, template);
        }
    }
    return 0;
}

char *batch_output_path(const struct cli_options *o, const struct input_list *l, size_t i,
                        struct pool_error *err)
{
    struct text t = {0};
    struct input_path p;
    const char *input = inputs_path(l, i, &p);
    if (!strcmp(input, "-")) {
        pool_fail(err, "standard input has no name to give its output: name the files");
        pool_blame(err, ERROR_USAGE, "<stdin>");
        return NULL;
    }
    if (o->outdir) {
        append_str(&t, o->outdir);
        if (t.len && t.s[t.len - 1] != '/')
            append(&t, "/", 1);
        const char *relative = input + p.root_len;
        append_folder(&t, relative);
        if (strchr(relative, '/'))
            append(&t, "/", 1);
        append_stem(&t, input);
        append(&t, ".", 1);
        append_str(&t, output_extension(o, input));
    } else if (expand_template(&t, o->output, o, l, i, &p, err)) {
        free(t.s);
        return NULL;
    }
    if (t.failed || !t.s) {
        free(t.s);
        pool_fail_resource(err, "out of memory for an output's name");
        return NULL;
    }
    return t.s;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The inputs whose outputs hash to h: the same name twice, or a 64-bit coincidence. */
static int check_hash(const struct cli_options *o, const struct input_list *l, uint64_t h,
                      struct pool_error *err)
{
    char *first = NULL;
    size_t first_input = 0;
    int rc = 0;
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        char *path = batch_output_path(o, l, i, err);
        if (!path) {
            rc = -1;
            break;
        }
        if (name_hash(path) != h) {
            free(path);
        } else if (!first) {
            first = path;
            first_input = i;
        } else {
            if (!strcmp(first, path)) {
                struct input_path a, b;
                pool_fail(err, "%s and %s would both write %s", inputs_path(l, first_input, &a),
                          inputs_path(l, i, &b), path);
                rc = pool_blame(err, ERROR_USAGE, NULL);
            }
            free(path);
        }
    }
    free(first);
    return rc;
}

/* Before anything is read: every output has a name, its own, that is not its input. Only
 * the names' hashes are kept (8 bytes an input); a repeated hash is looked into. */
static int check_outputs(const struct cli_options *o, struct input_list *l, struct pool_error *err)
{
    uint64_t *hashes = malloc((l->count ? l->count : 1) * sizeof *hashes);
    if (!hashes)
        return pool_fail_resource(err, "out of memory for the outputs' names");
    int rc = 0;
    struct input_path p;
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        char *path = batch_output_path(o, l, i, err);
        if (!path) {
            rc = -1;
            break;
        }
        hashes[i] = name_hash(path);
        if (o->output_template && o->format == FORMAT_UNKNOWN &&
            format_from_path(path) == FORMAT_UNKNOWN) {
            pool_fail(err,
                      "cannot tell the output format from the names the template gives "
                      "(%s): end it with .%%e or an extension, or give -f",
                      path);
            rc = pool_blame(err, ERROR_USAGE, o->output);
        } else if (same_file(path, inputs_path(l, i, &p))) {
            pool_fail(err, "the output %s is the input itself", path);
            rc = inputs_blame(l, err, ERROR_USAGE, p.path);
        }
        free(path);
    }
    if (rc == 0)
        qsort(hashes, l->count, sizeof *hashes, by_value);
    for (size_t i = 1; i < l->count && rc == 0; i++)
        if (hashes[i] == hashes[i - 1] && (i < 2 || hashes[i] != hashes[i - 2]))
            rc = check_hash(o, l, hashes[i], err);
    free(hashes);
    return rc;
}

/* mkdir -p of the folder that will hold path. */
static int make_parents(char *path, struct pool_error *err)
{
    for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        struct stat st;
        int rc = 0;
        if (stat(path, &st) != 0 && mkdir(path, 0777) != 0 && errno != EEXIST)
            rc = pool_fail(err, "cannot create the folder %s: %s", path, strerror(errno));
        else if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
            rc = pool_fail(err, "%s is in the way of a folder", path);
        *slash = '/';
        if (rc)
            return -1;
    }
    return 0;
}

/* What one input leaves for its turn: how it went, its message, its stats records. */
struct input_result {
    int outcome; /* 1 written, 0 skipped, -1 failed */
    char message[MESSAGE_LINE_MAX];
    size_t message_len;
    char *records; /* --stats records (malloc'd by open_memstream), or NULL */
    size_t records_len;
    unsigned long long bytes; /* the input's size, for the progress line */
    struct input_warnings warnings;
    bool ran; /* it was read (not skipped): its warnings count */
};

/* Runs input i into its own output; its stats records go to a buffer of their own. */
static void batch_one(const struct run_settings *s, const struct input_list *l, size_t i,
                      struct run_shared *mine, struct input_result *r)
{
    const struct cli_options *o = s->opt;
    struct pool_error err = {0};
    memset(r, 0, sizeof *r);
    struct input_path p;
    const char *input = inputs_path(l, i, &p);
    struct stat in_st;
    if (stat(input, &in_st) == 0 && S_ISREG(in_st.st_mode))
        r->bytes = (unsigned long long)in_st.st_size;
    char *path = batch_output_path(o, l, i, &err);
    int rc = path ? 0 : -1;
    struct stat st;
    /* lstat: a link at the output path is there, even when it points nowhere */
    if (rc == 0 && lstat(path, &st) == 0 && !o->force) {
        if (o->skip_existing) {
            free(path);
            return;
        }
        pool_fail(&err, "exists (--force overwrites it, --skip-existing skips its input)");
        rc = pool_blame(&err, ERROR_OUTPUT, path);
    }
    if (rc == 0 && make_parents(path, &err))
        rc = pool_blame(&err, ERROR_OUTPUT, path);
    if (rc == 0 && o->stats) {
        mine->report.text = o->stats_text;
        if (!(mine->report.out = open_memstream(&r->records, &r->records_len)))
            rc = pool_fail_resource(&err, "out of memory for the stats records");
    }
    /* Each input meets the warnings afresh; they are counted in its turn. */
    struct run_once fresh = {0};
    mine->once = &fresh;
    mine->warnings = &r->warnings;
    if (rc == 0) {
        mine->output.path = path;
        r->ran = true;
        rc = run_input(s, mine, input, &err);
        rc = rc ? rc : run_output_commit(mine, &err);
    }
    mine->warnings = NULL;
    mine->once = NULL;
    run_output_discard(mine);
    if (mine->report.out) {
        fclose(mine->report.out);
        mine->report.out = NULL;
        if (rc) { /* a failed input's figures are not kept */
            free(r->records);
            r->records = NULL;
        }
    }
    if (rc)
        r->message_len = format_failure(&err, input, r->message, sizeof r->message);
    r->outcome = rc ? -1 : 1;
    free(path);
}

/* The workers' common state: who takes which input, and whose turn it is to be said. */
struct batch_state {
    const struct run_settings *s;
    const struct input_list *l;
    struct report *report; /* the run's --stats */
    pthread_mutex_t lock;
    pthread_cond_t turn;
    size_t next_input, next_said;
    /* Results done but not yet said, at held[i % window]: a worker hands its result in and
     * goes on, rather than wait for the input before to be said. */
    struct input_result **held;
    size_t window;
    bool stop; /* --fail-fast met a failure */
    struct warning_tally *tally;
    struct batch_counts *counts;
    /* the progress line: on a terminal (or --progress), not with -q */
    bool progress;
    struct timespec started, drawn;
    unsigned long long bytes;
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + 1e-9 * (double)(b->tv_nsec - a->tv_nsec);
}

/* "pool: 123/500 files, 41.3 MB/s, 0:07 left", redrawn in place at most ten times a
 * second (and for the last input). Called with the lock held. */
static void draw_progress(struct batch_state *b, bool force)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && seconds_between(&b->drawn, &now) < 0.1)
        return;
    b->drawn = now;
    double elapsed = seconds_between(&b->started, &now);
    size_t done = b->next_said, total = b->l->count;
    double rate = elapsed > 0 ? (double)b->bytes / elapsed / 1e6 : 0;
    long left = done && elapsed > 0 ? (long)(elapsed * (double)(total - done) / (double)done) : 0;
    char line[160];
    int n = snprintf(line, sizeof line, "\rpool: %zu/%zu files, %.1f MB/s, %ld:%02ld left\033[K",
                     done, total, rate, left / 60, left % 60);
    fwrite(line, 1, n > 0 ? (size_t)n : 0, stderr);
    output_line_open(true);
}

static void clear_progress(const struct batch_state *b)
{
    if (b->progress) {
        fputs("\r\033[K", stderr);
        output_line_open(false);
    }
}

/* Input results are said in input order, whatever the workers' order: messages, records
 * and counts come out the same for any number of workers. */
/* Said when no memory was left for an input's result. */
static struct input_result no_memory = {.outcome = -1};

static void free_result(struct input_result *r)
{
    if (r == &no_memory)
        return;
    free(r->records);
    input_warnings_clear(&r->warnings);
    free(r);
}

/* Says input i's result (its turn has come). Called with the lock held. */
static void say_result(struct batch_state *b, size_t i, struct input_result *r)
{
    if (r->ran && r->outcome >= 0) { /* (a failed input's warnings are moot) */
        struct input_path p;
        tally_add(b->tally, &r->warnings, inputs_path(b->l, i, &p));
    }
    if (r->message_len) {
        clear_progress(b);
        fwrite(r->message, 1, r->message_len, stderr);
    } else if (r == &no_memory) { /* (one result for every such input: no message of its own) */
        struct pool_error err;
        struct input_path p;
        pool_fail_resource(&err, "out of memory");
        clear_progress(b);
        say_failure(&err, inputs_path(b->l, i, &p));
    }
    if (r->records)
        fwrite(r->records, 1, r->records_len, b->report->out);
    b->counts->written += r->outcome == 1;
    b->counts->existing += r->outcome == 0;
    b->counts->failed += r->outcome < 0;
    b->stop |= r->outcome < 0 && b->s->opt->fail_fast;
    b->bytes += r->bytes;
}

/* Hands in input i's result, and says every result whose turn has come, in input order:
 * messages, records and counts come out the same for any number of workers. A worker
 * waits only when the results held reach the window (an input far behind is slow). */
static void hand_in(struct batch_state *b, size_t i, struct input_result *r)
{
    pthread_mutex_lock(&b->lock);
    while (i >= b->next_said + b->window)
        pthread_cond_wait(&b->turn, &b->lock);
    b->held[i % b->window] = r;
    /* --fail-fast: no input is begun after a failure, said or not yet */
    b->stop |= r->outcome < 0 && b->s->opt->fail_fast;
    size_t before = b->next_said;
    while ((r = b->held[b->next_said % b->window])) {
        b->held[b->next_said % b->window] = NULL;
        say_result(b, b->next_said, r);
        free_result(r);
        b->next_said++;
    }
    if (b->progress && b->next_said != before)
        draw_progress(b, b->next_said == b->l->count);
    pthread_cond_broadcast(&b->turn);
    pthread_mutex_unlock(&b->lock);
}

static void *work(void *arg)
{
    struct batch_state *b = arg;
    struct run_shared mine = {.views = {.opt = b->s->opt}};
    for (;;) {
        pthread_mutex_lock(&b->lock);
        bool done = b->stop || b->next_input == b->l->count;
        size_t i = b->next_input;
        b->next_input += !done;
        pthread_mutex_unlock(&b->lock);
        if (done)
            break;
        struct input_result *r = malloc(sizeof *r);
        if (r)
            batch_one(b->s, b->l, i, &mine, r);
        hand_in(b, i, r ? r : &no_memory); /* said in turn all the same: the others go on */
    }
    views_abort(&mine.views);
    return NULL;
}

int batch_run(const struct run_settings *s, struct input_list *l, struct run_shared *shared,
              struct batch_counts *counts, struct pool_error *err)
{
    memset(counts, 0, sizeof *counts);
    if (check_outputs(s->opt, l, err))
        return -1;
    /* Names are checked across every shard: two shards must not write one file either. */
    if (s->opt->shards && inputs_keep_shard(l, s->opt->shard, s->opt->shards, err))
        return -1;
    struct batch_state b = {.s = s,
                            .l = l,
                            .report = &shared->report,
                            .counts = counts,
                            .tally = &shared->tally,
                            .progress = !s->opt->quiet &&
                                        (s->opt->progress || isatty(STDERR_FILENO))};
    size_t jobs = s->opt->jobs < l->count ? s->opt->jobs : l->count;
    b.window = 4 * (jobs ? jobs : 1);
    if (!(b.held = calloc(b.window, sizeof *b.held)))
        return pool_fail_resource(err, "out of memory for the workers");
    clock_gettime(CLOCK_MONOTONIC, &b.started);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.turn, NULL);
    pthread_t *threads = calloc(jobs, sizeof *threads);
    size_t started = 0;
    /* The calling thread is a worker too; others are started while they can be. */
    while (threads && started + 1 < jobs && pthread_create(&threads[started], NULL, work, &b) == 0)
        started++;
    work(&b);
    for (size_t k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    free(threads);
    free(b.held); /* (every result was said: the last worker to hand one in said the rest) */
    pthread_cond_destroy(&b.turn);
    pthread_mutex_destroy(&b.lock);
    clear_progress(&b);
    tally_say(&shared->tally, s->opt->stats);
    counts->not_pooled = l->skipped;
    counts->not_begun = l->count - b.next_said;
    counts->failed += l->unreadable;
    return 0;
}
