#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../codec/codec.h"
#include "messages.h"

/* The folders being walked, outermost first: a folder met again is a symbolic link loop. */
struct walk_stack {
    struct walked_folder {
        dev_t dev;
        ino_t ino;
    } folders[256];
    int depth;
};

int inputs_blame(struct input_list *l, struct pool_error *err, enum pool_error_kind kind,
                 const char *path)
{
    char *copy = strdup(path);
    free(l->blamed);
    l->blamed = copy;
    pool_blame(err, kind, NULL);
    err->subject = copy ? copy : "(a path)"; /* in place of one that may be going */
    return -1;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    void *grown = realloc(*p, n * size);
    if (!grown)
        return false;
    *p = grown;
    *cap = n;
    return true;
}

/* A path too long to open: a FILE argument fails the run; one found in a folder or a list
 * is said and counted as failed, and the others go on. */
static int too_long(struct input_list *l, const char *path, bool given, struct pool_error *err)
{
    pool_fail(err, "the path is longer than the system takes (%d bytes)", INPUTS_PATH_MAX - 1);
    if (given)
        return inputs_blame(l, err, ERROR_INPUT, path);
    say_failure(err, path);
    *err = (struct pool_error){0};
    l->unreadable++;
    return 0;
}

/* given: a FILE argument (else found in a folder, or listed). */
static int add_path(struct input_list *l, const char *path, size_t root_len, bool given,
                    struct pool_error *err)
{
    size_t len = strlen(path);
    if (len >= INPUTS_PATH_MAX)
        return too_long(l, path, given, err);
    if (!l->last && !(l->last = malloc(INPUTS_PATH_MAX)))
        return pool_fail_resource(err, "out of memory for the list of inputs");
    size_t shared = 0;
    bool restart = l->count % INPUTS_RESTART == 0;
    if (!restart)
        while (shared < len && path[shared] == l->last[shared])
            shared++;
    void *bytes = l->bytes, *restarts = l->restarts;
    bool room = grow(&bytes, &l->cap, l->used + 4 + len - shared + 1, 1, 4096);
    l->bytes = bytes;
    room = room && (!restart || grow(&restarts, &l->restarts_cap, l->count / INPUTS_RESTART + 1,
                                     sizeof(size_t), 64));
    l->restarts = restarts;
    if (!room)
        return pool_fail_resource(err, "out of memory for the list of inputs");
    if (restart)
        l->restarts[l->count / INPUTS_RESTART] = l->used;
    unsigned char *e = (unsigned char *)l->bytes + l->used;
    e[0] = (unsigned char)(root_len & 0xff);
    e[1] = (unsigned char)(root_len >> 8);
    e[2] = (unsigned char)(shared & 0xff);
    e[3] = (unsigned char)(shared >> 8);
    memcpy(e + 4, path + shared, len - shared + 1);
    l->used += 4 + len - shared + 1;
    memcpy(l->last, path, len + 1);
    l->count++;
    return 0;
}

/* Whether a file found in a folder is one pool reads: by its magic bytes, not its name. */
static bool is_readable_kind(const char *path)
{
    unsigned char bytes[SOURCE_PEEK_MAX];
    FILE *f = fopen(path, "rb");
    if (!f)
        return true; /* let the run say why it cannot be opened */
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    return format_sniff(bytes, n) != FORMAT_UNKNOWN;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entries of a folder, sorted by their bytes (not the locale); on failure
 * *names holds those read before it (free_names). */
static int read_folder(const char *dir, char ***names, size_t *count, struct pool_error *err)
{
    DIR *d = opendir(dir);
    *names = NULL;
    *count = 0;
    if (!d)
        return pool_fail(err, "cannot read the folder: %s", strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*names, cap * sizeof *grown);
            if (!grown) {
                rc = pool_fail_resource(err, "out of memory for a folder's names");
                break;
            }
            *names = grown;
        }
        if (!((*names)[*count] = strdup(e->d_name)))
            rc = pool_fail_resource(err, "out of memory for a folder's names");
        else
            (*count)++;
    }
    closedir(d);
    if (*count) /* (no names: *names may be NULL, which qsort must not be given) */
        qsort(*names, *count, sizeof **names, by_name);
    return rc;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int walk(struct input_list *l, const char *dir, size_t root_len, struct walk_stack *stack,
                struct pool_error *err);
static uint64_t shard_hash(const char *s);

/* One entry of a folder being walked. */
static int walk_entry(struct input_list *l, const char *path, size_t root_len,
                      struct walk_stack *stack, struct pool_error *err)
{
    struct stat st;
    bool mine = !l->shards || shard_hash(path + root_len) % l->shards == l->shard;
    if (stat(path, &st)) { /* a dangling link, or gone since the listing: nothing to pool */
        l->skipped += mine;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        if (l->has_outdir && st.st_dev == l->outdir_dev && st.st_ino == l->outdir_ino)
            return 0; /* the outputs of an earlier run into the input tree */
        for (int k = 0; k < stack->depth; k++)
            if (stack->folders[k].dev == st.st_dev && stack->folders[k].ino == st.st_ino) {
                if (!l->quiet)
                    say_warning(path, "a symbolic link back to a folder being walked: not "
                                      "walked again");
                return 0;
            }
        if (stack->depth == (int)(sizeof stack->folders / sizeof stack->folders[0])) {
            pool_fail(err, "folders nested over %d deep", stack->depth);
            return inputs_blame(l, err, ERROR_INPUT, path);
        }
        stack->folders[stack->depth++] = (struct walked_folder){st.st_dev, st.st_ino};
        int rc = walk(l, path, root_len, stack, err);
        stack->depth--;
        return rc;
    }
    if (!S_ISREG(st.st_mode) || !is_readable_kind(path)) {
        l->skipped += mine;
        return 0;
    }
    return add_path(l, path, root_len, false, err);
}

static int walk(struct input_list *l, const char *dir, size_t root_len, struct walk_stack *stack,
                struct pool_error *err)
{
    char **names;
    size_t count;
    if (read_folder(dir, &names, &count, err)) {
        /* as find does: say so, and walk the rest */
        free_names(names, count); /* (those read before it failed) */
        say_failure(err, dir);
        l->unreadable++;
        return 0;
    }
    size_t dir_len = strlen(dir);
    bool slash = dir_len && dir[dir_len - 1] == '/';
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t len = dir_len + 1 + strlen(names[i]) + 1;
        char *path = malloc(len);
        if (!path) {
            rc = pool_fail_resource(err, "out of memory for a path");
            break;
        }
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        rc = walk_entry(l, path, root_len, stack, err);
        free(path);
    }
    free_names(names, count);
    return rc;
}

/* How much of a listed path is not mirrored: leading '/' and "./". A listed path is
 * mirrored whole under -O (as rsync --files-from does), so it may not climb out with "..". */
static int listed_root(struct input_list *l, const char *path, size_t *root_len,
                       struct pool_error *err)
{
    size_t n = 0;
    while (path[n] == '/' || (path[n] == '.' && path[n + 1] == '/'))
        n += path[n] == '/' ? 1 : 2;
    for (const char *c = path + n; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c))
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')) {
            pool_fail(err, "a listed path with '..' cannot be mirrored under the output folder: "
                           "list it from a folder above it");
            return inputs_blame(l, err, ERROR_USAGE, path);
        }
    *root_len = n;
    return 0;
}

/* A FILE argument or a listed path: a file (kept whatever it holds: the run says what is
 * wrong with it), or a folder to walk. A FILE argument's outputs go to the top of -O, a
 * folder argument's mirror the paths below it; a listed path is mirrored whole. */
static int add_argument(struct input_list *l, const char *arg, bool listed,
                        const struct cli_options *o, struct pool_error *err)
{
    struct stat st;
    size_t root_len = 0;
    if (listed && listed_root(l, arg, &root_len, err))
        return -1;
    if (strcmp(arg, "-") && stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!o->recursive) {
            pool_fail(err, "is a folder: give -R to pool the files in it");
            return inputs_blame(l, err, ERROR_USAGE, arg);
        }
        struct walk_stack stack = {.folders = {{st.st_dev, st.st_ino}}, .depth = 1};
        size_t len = strlen(arg);
        if (!listed)
            root_len = len && arg[len - 1] == '/' ? len : len + 1;
        return walk(l, arg, root_len, &stack, err);
    }
    if (!listed) {
        const char *base = strrchr(arg, '/');
        root_len = base ? (size_t)(base - arg) + 1 : 0;
    }
    return add_path(l, arg, root_len, !listed, err);
}

/* --files-from: one path a line (or NUL-separated with -0); empty lines are ignored. */
static int add_listed(struct input_list *l, const struct cli_options *o, struct pool_error *err)
{
    const char *name = strcmp(o->files_from, "-") ? o->files_from : "<stdin>";
    FILE *f = strcmp(o->files_from, "-") ? fopen(o->files_from, "r") : stdin;
    if (!f) {
        pool_fail(err, "cannot open the list of inputs: %s", strerror(errno));
        return pool_blame(err, ERROR_USAGE, name);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getdelim(&line, &cap, o->null_separated ? '\0' : '\n', f)) >= 0) {
        if (n > 0 && line[n - 1] == (o->null_separated ? '\0' : '\n'))
            line[--n] = '\0';
        if (n > 0)
            rc = add_argument(l, line, true, o, err);
    }
    /* getdelim ends short of the end of the file, without an error on it, when its line
     * cannot grow: the rest of the list would be silently left out. */
    if (rc == 0 && !ferror(f) && !feof(f))
        rc = pool_fail_resource(err, "out of memory for the list of inputs");
    if (rc == 0 && ferror(f)) {
        pool_fail(err, "cannot read the list of inputs: %s", strerror(errno));
        rc = pool_blame(err, ERROR_USAGE, name);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* name_hash mixed (splitmix64's finalizer) so that N shards share paths evenly. */
static uint64_t shard_hash(const char *s)
{
    uint64_t h = name_hash(s);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

int inputs_keep_shard(struct input_list *l, size_t shard, size_t shards, struct pool_error *err)
{
    /* The shard's entries go into a list of their own: front-coded against each other. */
    struct input_list kept = *l;
    kept.bytes = NULL;
    kept.used = kept.cap = kept.count = kept.restarts_cap = 0;
    kept.restarts = NULL;
    kept.last = kept.blamed = NULL;
    kept.numbers = NULL;
    struct input_path p;
    int rc = 0;
    for (size_t i = 0; i < l->count && rc == 0; i++) {
        inputs_path(l, i, &p);
        if (shard_hash(p.path + p.root_len) % shards != shard)
            continue;
        if (kept.count % 256 == 0) {
            size_t *numbers = realloc(kept.numbers, (kept.count + 256) * sizeof *numbers);
            if (!numbers) {
                rc = pool_fail_resource(err, "out of memory for the list of inputs");
                break;
            }
            kept.numbers = numbers;
        }
        kept.numbers[kept.count] = i;
        rc = add_path(&kept, p.path, p.root_len, true, err);
    }
    if (rc) { /* out of memory (every path fitted once already) */
        inputs_free(&kept);
        return -1;
    }
    free(l->bytes);
    free(l->restarts);
    free(l->last);
    *l = kept;
    return 0;
}

size_t inputs_number(const struct input_list *l, size_t i)
{
    return l->numbers ? l->numbers[i] : i;
}

int inputs_list(struct input_list *l, const struct cli_options *o, struct pool_error *err)
{
    return inputs_list_with(l, o, NULL, err);
}

int inputs_list_with(struct input_list *l, const struct cli_options *o, const char *first,
                     struct pool_error *err)
{
    memset(l, 0, sizeof *l);
    l->quiet = o->quiet;
    l->shard = o->shard;
    l->shards = o->shards;
    /* The folder the outputs go under (-O, or an -o template's folder before its first %
     * code) is not walked: an earlier run's outputs are not inputs. */
    char root[INPUTS_PATH_MAX] = "";
    if (o->outdir) {
        snprintf(root, sizeof root, "%s", o->outdir);
    } else if (o->output_template) {
        size_t fixed = strcspn(o->output, "%"), slash = 0;
        for (size_t k = 0; k < fixed; k++)
            slash = o->output[k] == '/' ? k : slash;
        if (slash > 0)
            snprintf(root, sizeof root, "%.*s", (int)slash, o->output);
    }
    struct stat out;
    if (root[0] && stat(root, &out) == 0 && S_ISDIR(out.st_mode)) {
        l->has_outdir = true;
        l->outdir_dev = out.st_dev;
        l->outdir_ino = out.st_ino;
    }
    int rc = first ? add_argument(l, first, false, o, err) : 0;
    if (rc == 0 && o->files_from)
        rc = add_listed(l, o, err);
    /* (no FILE argument is stdin, unless there is a list or a first input) */
    bool arguments = o->inputs_given || (!o->files_from && !first);
    for (int i = 0; rc == 0 && i < o->ninputs && arguments; i++)
        rc = add_argument(l, o->inputs[i], false, o, err);
    /* Nothing to pool is a batch's to say (find -newer found nothing new: 0 written); one
     * output needs an input. */
    if (rc == 0 && l->count == 0 && !options_batch(o)) {
        pool_fail(err, "no images or tensors to pool%s",
                  l->skipped ? " (every file found was "
                               "skipped)"
                             : "");
        rc = pool_blame(err, ERROR_USAGE, NULL);
    }
    return rc;
}

const char *inputs_path(const struct input_list *l, size_t i, struct input_path *buf)
{
    /* From the full path at the restart point before i, each entry after it in turn. */
    size_t at = l->restarts[i / INPUTS_RESTART];
    for (size_t k = i - i % INPUTS_RESTART;; k++) {
        const unsigned char *e = (const unsigned char *)l->bytes + at;
        size_t shared = e[2] | (size_t)e[3] << 8, rest = strlen((const char *)e + 4);
        memcpy(buf->path + shared, e + 4, rest + 1);
        if (k == i) {
            buf->root_len = e[0] | (size_t)e[1] << 8;
            return buf->path;
        }
        at += 4 + rest + 1;
    }
}

int inputs_check_output(struct input_list *l, const char *role, const char *output,
                        struct pool_error *err)
{
    struct stat out, in;
    if (!output || !strcmp(output, "-") || stat(output, &out) || !S_ISREG(out.st_mode))
        return 0;
    struct input_path p;
    for (size_t i = 0; i < l->count; i++) {
        const char *path = inputs_path(l, i, &p);
        bool got = strcmp(path, "-") ? stat(path, &in) == 0 : fstat(STDIN_FILENO, &in) == 0;
        if (got && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
            pool_fail(err, "%s %s is the input itself: write it elsewhere", role, output);
            return inputs_blame(l, err, ERROR_USAGE, strcmp(path, "-") ? path : "<stdin>");
        }
    }
    return 0;
}

const char *inputs_relative(const struct input_list *l, size_t i, struct input_path *buf)
{
    return inputs_path(l, i, buf) + buf->root_len;
}

void inputs_free(struct input_list *l)
{
    free(l->bytes);
    free(l->restarts);
    free(l->last);
    free(l->numbers);
    free(l->blamed);
    memset(l, 0, sizeof *l);
}
