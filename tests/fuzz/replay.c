/*
 * Replays a fuzz harness without libFuzzer: every file of its seed corpus and of its
 * regressions folder (tests/fuzz/corpus/NAME, tests/fuzz/regressions/NAME under
 * $TESTS_DIR, NAME from the program's name fuzz_NAME), or the files and folders given,
 * goes once through LLVMFuzzerTestOneInput. A crash, a leak or a sanitizer report fails
 * the run; the result is TAP, one test per folder.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* A whole file, malloc'd into *data (at least one byte, for an empty file); -1 when it
 * cannot be read. */
static int slurp(const char *path, uint8_t **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    int bad = ferror(fp);
    fclose(fp);
    if (!buf || bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

/* One file through the harness; -1 when it cannot be read. */
static int replay_file(const char *path)
{
    uint8_t *data;
    size_t size;
    if (slurp(path, &data, &size)) {
        fprintf(stderr, "# cannot read %s\n", path);
        return -1;
    }
    /* A copy of exactly size bytes, so that ASan sees a read past the end. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

/* In the ASan build: an allocation over 256 MiB fails the run, as libFuzzer's malloc limit
 * makes it a finding (every harness's budget is far smaller). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_allocation_size_mb=256"; }

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a folder (sorted), or the file itself; the count into *files.
 * A missing folder has none. -1 when one cannot be read. */
static int replay_path(const char *path, size_t *files)
{
    struct stat st;
    if (stat(path, &st))
        return 0;
    if (!S_ISDIR(st.st_mode)) {
        ++*files;
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, NULL);
    if (n < 0)
        return -1;
    qsort(names, (size_t)n, sizeof *names, by_name);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            ++*files;
            if (replay_file(file))
                rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *name = strncmp(base, "fuzz_", 5) ? base : base + 5;
    const char *tests = getenv("TESTS_DIR") ? getenv("TESTS_DIR") : "tests";
    char corpus[4096], regressions[4096];
    snprintf(corpus, sizeof corpus, "%s/fuzz/corpus/%s", tests, name);
    snprintf(regressions, sizeof regressions, "%s/fuzz/regressions/%s", tests, name);
    char *defaults[] = {corpus, regressions};
    char **paths = argc > 1 ? argv + 1 : defaults;
    int npaths = argc > 1 ? argc - 1 : 2;
    printf("1..%d\n", npaths);
    int failed = 0;
    for (int i = 0; i < npaths; i++) {
        size_t files = 0;
        int rc = replay_path(paths[i], &files);
        if (argc == 1 && i == 0 && files == 0) /* a harness without seeds: a typo */
            rc = -1;
        printf("%s %d - %s: %zu files through %s\n", rc ? "not ok" : "ok", i + 1, paths[i], files,
               name);
        failed |= rc != 0;
    }
    return failed;
}
