/*
 * The inputs of a run, in a fixed order: the FILE arguments as given, or the paths that
 * --files-from lists, each folder among them walked (with -R) in sorted order. Walking
 * keeps the files whose magic bytes name a format pool reads and counts the others as
 * skipped; hidden files and folders (names starting with '.') are left out, a folder
 * reached again through a symbolic link is not walked twice, and neither is the -O folder
 * when it lies in the tree (an earlier run's outputs).
 *
 * Memory: the paths front-coded, as sorted paths share much (each entry holds what it
 * does not share with the one before, and 4 bytes: its root's length and the length
 * shared), with a full path and a word for every INPUTS_RESTART entries so that any entry
 * is found in a few steps: 10 to 20 bytes a file for a typical tree. Nothing else grows
 * with the number of files.
 */
#ifndef POOL_INPUTS_H
#define POOL_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/error.h"
#include "options.h"

/* The longest input path (the NUL included), as the system takes it (PATH_MAX). */
#define INPUTS_PATH_MAX 4096
#define INPUTS_RESTART 16

/* One input's path, decoded from the list. */
struct input_path {
    char path[INPUTS_PATH_MAX];
    size_t root_len; /* how much of it is the folder argument it came from */
};

struct input_list {
    /* Every input, one after another: two bytes (little-endian) saying how much of the path
     * is the folder argument it came from, with its '/' (for a file argument, its folder),
     * two saying how much it shares with the path before (none every INPUTS_RESTART
     * entries), then the rest of the path, NUL-terminated. */
    char *bytes;
    size_t used, cap;
    size_t *restarts; /* where entries 0, INPUTS_RESTART, 2 INPUTS_RESTART... begin */
    size_t count, restarts_cap;
    char *last;      /* the path added last (INPUTS_PATH_MAX bytes) */
    size_t *numbers; /* with --shard: each input's place in the whole list */
    /* files in walked folders that are not images or tensors, and dangling links (with
     * --shard, those of the shard) */
    size_t skipped;
    size_t shard, shards; /* --shard K/N (shards 0: none), for counting the skipped */
    size_t unreadable;    /* folders that could not be read, paths too long (said, left out) */
    char *blamed;         /* a failure's subject that outlives the walk (malloc'd) */
    bool quiet;           /* no warnings (-q) */
    bool has_outdir;      /* -O names a folder that exists: it is not walked */
    dev_t outdir_dev;
    ino_t outdir_ino;
};

/* Refuses (a usage error) an output file that is one of the inputs (stdin's too): it would
 * be replaced while being read. role names it in the message: "the output", "--stats". */
int inputs_check_output(struct input_list *l, const char *role, const char *output,
                        struct pool_error *err);

/* Lists the run's inputs. Fails (a usage error) on a folder without -R, a list file that
 * cannot be read, or no input at all after walking. */
int inputs_list(struct input_list *l, const struct cli_options *o, struct pool_error *err);
/* The same with `first` (a FILE argument: --plan's) before every other input, or NULL; with
 * it, no FILE argument does not mean stdin. */
int inputs_list_with(struct input_list *l, const struct cli_options *o, const char *first,
                     struct pool_error *err);
/* Input i's path, decoded into buf; returns buf->path. */
const char *inputs_path(const struct input_list *l, size_t i, struct input_path *buf);
/* Input i's number in the whole run, from 0 (its place before --shard kept a part). */
size_t inputs_number(const struct input_list *l, size_t i);
/* The part of input i's path below the folder argument it came from: "a/b/x.png" for
 * "photos/a/b/x.png" from "photos"; the path itself for a file argument. */
const char *inputs_relative(const struct input_list *l, size_t i, struct input_path *buf);
/* Says which path a failure is about (replacing any subject it had), with a copy kept
 * until inputs_free: for a subject decoded into a buffer that goes before the failure is
 * said. */
int inputs_blame(struct input_list *l, struct pool_error *err, enum pool_error_kind kind,
                 const char *path);
/* FNV-1a, 64 bits, of a name: many names (outputs, stems) are compared by hash first,
 * then by name where two hashes meet. */
uint64_t name_hash(const char *s);

/* --shard K/N: keeps the inputs whose path below their folder argument hashes to shard K
 * of N (a 64-bit hash, so a file's shard never changes as others come and go). */
int inputs_keep_shard(struct input_list *l, size_t shard, size_t shards, struct pool_error *err);
void inputs_free(struct input_list *l);

#endif
