/*
 * fuzz_file.h - the readers under test take paths: fuzz inputs go through a temporary file.
 */
#ifndef CLGAN_FUZZ_FILE_H
#define CLGAN_FUZZ_FILE_H

#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to a fresh file named from tmpl ("...XXXXXX", rewritten); 0 on success. */
static inline int fuzz_to_file(const uint8_t *data, size_t size, char *tmpl) {
    int fd = mkstemp(tmpl);
    if (fd < 0) return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!ok) unlink(tmpl);
    return ok ? 0 : -1;
}

#endif /* CLGAN_FUZZ_FILE_H */
