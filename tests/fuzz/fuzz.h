/* Shared by the fuzz harnesses under tests/fuzz (README there): each
 * harness defines LLVMFuzzerTestOneInput and is linked either with
 * libFuzzer (clang -fsanitize=fuzzer), with AFL++'s driver, or with
 * driver.c, the plain main() that `make check` uses to replay the corpus.
 *
 * Readers open files by name, so an input is handed to them as a path: a
 * memory file (memfd) rewritten for each input, named /proc/self/fd/N. */
#ifndef ST_FUZZ_H
#define ST_FUZZ_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A finding that is not a crash (a round trip that changes a value, an
 * error without a message): print it and abort, so every driver stops. */
#define FUZZ_CHECK(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__,    \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* The path of a file holding data[0..size) (slot: a harness may need two
 * files at once).  Valid until the next call with the same slot. */
static inline const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    static int fd[4] = {-1, -1, -1, -1};
    static char path[4][40];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("fuzz-input", 0);
        if (fd[slot] < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(fd[slot], data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    return path[slot];
}

/* data[0..size) as a NUL-terminated string (malloc'ed; NUL bytes inside
 * stay, so a harness sees them when it passes the length). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The error a failing library call leaves must say something. */
#define FUZZ_CHECK_ERR(rc, e)                                                 \
    FUZZ_CHECK((rc) >= 0 || ((e).code == (rc) && (e).msg[0]),                \
               "rc %d, code %d, message '%s'", (int)(rc), (e).code, (e).msg)

#endif
