#include "source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int source_open(struct byte_source *src, const char *path, struct pool_error *err)
{
    memset(src, 0, sizeof *src);
    src->name = path;
    src->size = -1;
    if (!strcmp(path, "-")) {
        src->fp = stdin;
    } else {
        src->fp = fopen(path, "rb");
        if (!src->fp)
            return pool_fail(err, "cannot open: %s", strerror(errno));
        src->owns_fp = true;
        /* stdio reads a file in blocks of st_blksize (4 KiB): a whole small image in one
         * or two reads instead saves tens of system calls per file in a batch. glibc takes
         * setvbuf's size only with a buffer given, so the source owns one. */
        src->buffer = malloc(SOURCE_READ_BUFFER);
        if (src->buffer)
            setvbuf(src->fp, src->buffer, _IOFBF, SOURCE_READ_BUFFER);
    }
    struct stat st;
    if (fstat(fileno(src->fp), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            source_close(src);
            return pool_fail(err, "is a directory");
        }
        /* stdin may be a file its parent already read part of: count from where it is. */
        off_t at = ftello(src->fp);
        if (S_ISREG(st.st_mode))
            src->size = (long long)st.st_size - (at > 0 && at <= st.st_size ? at : 0);
    }
    return 0;
}

void source_close(struct byte_source *src)
{
    if (src->owns_fp && src->fp)
        fclose(src->fp);
    src->fp = NULL;
    free(src->buffer); /* after fclose: stdio used it to the end */
    src->buffer = NULL;
}

size_t source_peek(struct byte_source *src, const unsigned char **bytes, size_t n)
{
    if (n > SOURCE_PEEK_MAX)
        n = SOURCE_PEEK_MAX;
    /* Move the unread bytes to the front, so the refill below always has room for n. */
    if (src->peek_pos > 0) {
        memmove(src->peeked, src->peeked + src->peek_pos, src->peek_len - src->peek_pos);
        src->peek_len -= src->peek_pos;
        src->peek_pos = 0;
    }
    while (src->peek_len < n) {
        size_t got = fread(src->peeked + src->peek_len, 1, n - src->peek_len, src->fp);
        if (got == 0)
            break;
        src->peek_len += got;
    }
    *bytes = src->peeked;
    return src->peek_len < n ? src->peek_len : n;
}

size_t source_read(struct byte_source *src, void *buf, size_t n)
{
    size_t done = 0;
    size_t buffered = src->peek_len - src->peek_pos;
    if (buffered) {
        done = buffered < n ? buffered : n;
        memcpy(buf, src->peeked + src->peek_pos, done);
        src->peek_pos += done;
    }
    if (done < n)
        done += fread((char *)buf + done, 1, n - done, src->fp);
    src->consumed += done;
    return done;
}

bool source_failed(const struct byte_source *src) { return ferror(src->fp) != 0; }

bool source_at_end(struct byte_source *src)
{
    const unsigned char *b;
    return source_peek(src, &b, 1) == 0;
}
