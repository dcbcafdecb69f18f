/* Input stage: bytes from a file descriptor (a named file or stdin), with
 * gzip detected by its magic and inflated on the fly, into the reader's
 * decoded buffer.  Errors locate the problem by byte offset in the file
 * (compressed offset for gzip problems). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/stream_impl.h"

#define ZIN_SIZE (1u << 18)

static int read_fd(st_reader *r, void *dst, size_t n, size_t *got, st_err *e)
{
    for (;;) {
        ssize_t k = read(r->fd, dst, n);
        if (k >= 0) {
            *got = (size_t)k;
            r->fd_total += k;
            if (k == 0)
                r->fd_eof = 1;
            return ST_OK;
        }
        if (errno != EINTR)
            return st_err_set_offset(e, ST_EIO, r->path, r->fd_total, "read error: %s", strerror(errno));
    }
}

int st_in_open(st_reader *r, const char *path, st_err *e)
{
    r->fd = -1;
    r->keep = SIZE_MAX;
    r->path = strdup(st_display_name(path));
    r->zin = malloc(ZIN_SIZE);
    r->buf = malloc(ST_INBUF_SIZE + 1);
    if (!r->path || !r->zin || !r->buf)
        return st_err_nomem(e, "input buffers");
    if (!path || strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY);
        if (r->fd < 0)
            return st_err_set(e, ST_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        r->own_fd = 1;
    }
    /* Read ahead far enough to see a gzip magic. */
    while (r->zin_len < 2 && !r->fd_eof) {
        size_t got;
        int rc = read_fd(r, r->zin + r->zin_len, ZIN_SIZE - r->zin_len, &got, e);
        if (rc < 0)
            return rc;
        r->zin_len += got;
    }
    if (r->zin_len >= 2 && r->zin[0] == 0x1f && r->zin[1] == 0x8b) {
        memset(&r->zs, 0, sizeof r->zs);
        if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
            return st_err_nomem(e, "gzip decoder");
        r->gz = 1;
        r->zs.next_in = r->zin;
        r->zs.avail_in = (uInt)r->zin_len;
    }
    return ST_OK;
}

void st_in_close(st_reader *r)
{
    if (r->gz)
        inflateEnd(&r->zs);
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    free(r->zin);
    free(r->buf);
    free(r->path);
}

/* Offset in the (compressed) file of the next byte inflate will consume. */
static long long gz_offset(const st_reader *r)
{
    return r->fd_total - (long long)r->zs.avail_in;
}

/* Read some decoded bytes (at least one unless the input ends). */
static int src_some(st_reader *r, unsigned char *dst, size_t n, size_t *got, st_err *e)
{
    *got = 0;
    if (n == 0)
        return ST_OK; /* no room: callers never ask for nothing */
    if (!r->gz) {
        if (r->zin_pos < r->zin_len) {
            size_t k = r->zin_len - r->zin_pos;
            if (k > n)
                k = n;
            memcpy(dst, r->zin + r->zin_pos, k);
            r->zin_pos += k;
            *got = k;
            return ST_OK;
        }
        if (r->fd_eof)
            return ST_OK;
        return read_fd(r, dst, n, got, e);
    }
    while (*got == 0) {
        if (r->gz_end) {
            /* End of one gzip member: stop at end of file, else another
             * member follows (as `cat a.gz b.gz` makes). */
            if (r->zs.avail_in == 0 && !r->fd_eof) {
                size_t k;
                int rc = read_fd(r, r->zin, ZIN_SIZE, &k, e);
                if (rc < 0)
                    return rc;
                r->zs.next_in = r->zin;
                r->zs.avail_in = (uInt)k;
            }
            if (r->zs.avail_in == 0)
                return ST_OK;
            inflateReset(&r->zs);
            r->gz_end = 0;
        }
        if (r->zs.avail_in == 0) {
            size_t k = 0;
            if (!r->fd_eof) {
                int rc = read_fd(r, r->zin, ZIN_SIZE, &k, e);
                if (rc < 0)
                    return rc;
            }
            if (k == 0)
                return st_err_set_offset(e, ST_EFORMAT, r->path, r->fd_total,
                                         "gzip data cut short (compressed input ends at byte %lld)",
                                         r->fd_total);
            r->zs.next_in = r->zin;
            r->zs.avail_in = (uInt)k;
        }
        r->zs.next_out = dst;
        r->zs.avail_out = (uInt)(n > (1u << 30) ? (1u << 30) : n);
        uInt before = r->zs.avail_out;
        int zr = inflate(&r->zs, Z_NO_FLUSH);
        *got = before - r->zs.avail_out;
        if (zr == Z_STREAM_END)
            r->gz_end = 1;
        else if (zr == Z_MEM_ERROR)
            return st_err_nomem(e, "gzip decoder");
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return st_err_set_offset(e, ST_EFORMAT, r->path, gz_offset(r), "gzip data corrupt: %s",
                                     r->zs.msg ? r->zs.msg : "inflate failed");
    }
    return ST_OK;
}

int st_in_fill(st_reader *r, size_t want, st_err *e)
{
    if (want > ST_INBUF_SIZE)
        want = ST_INBUF_SIZE;
    while (r->len - r->pos < want && !r->src_eof) {
        /* the CSV look-ahead keeps what it has read (at most 512 KiB and
         * one record) so that it can be read again */
        size_t from = r->keep < r->pos ? r->keep : r->pos;
        if (r->len == ST_INBUF_SIZE || (from > 0 && ST_INBUF_SIZE - r->len < (1u << 16))) {
            /* Move the unread tail to the front: it is at most one line or
             * one small record, so this stays linear. */
            size_t k = r->len - from;
            memmove(r->buf, r->buf + from, k);
            r->buf_off += (long long)from;
            r->scan -= from;
            r->pos -= from;
            if (r->keep != SIZE_MAX)
                r->keep -= from;
            r->len = k;
        }
        if (r->len == ST_INBUF_SIZE)
            break; /* full: the caller's request is larger than the buffer */
        size_t got;
        int rc = src_some(r, (unsigned char *)r->buf + r->len, ST_INBUF_SIZE - r->len, &got, e);
        if (rc < 0)
            return rc;
        if (got == 0)
            r->src_eof = 1;
        r->len += got;
    }
    return ST_OK;
}

int st_in_read(st_reader *r, void *dst, size_t n, size_t *got, st_err *e)
{
    unsigned char *d = dst;
    size_t k = r->len - r->pos;
    if (k > n)
        k = n;
    if (k) /* dst may be NULL for an empty read (a zero-length chunk) */
        memcpy(d, r->buf + r->pos, k);
    r->pos += k;
    *got = k;
    /* Large reads bypass the buffer: payloads go straight to their place. */
    while (*got < n && !r->src_eof) {
        size_t g;
        int rc = src_some(r, d + *got, n - *got, &g, e);
        if (rc < 0)
            return rc;
        if (g == 0)
            r->src_eof = 1;
        *got += g;
        r->buf_off += (long long)g;
    }
    return ST_OK;
}
