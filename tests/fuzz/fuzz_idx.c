/*
 * fuzz_idx.c - libFuzzer target: the IDX reader (through zlib, so gzip'd inputs too) on
 * arbitrary bytes. Seeds: tests/fuzz/corpus_idx.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/clgan-fuzz-idx-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    idx_header h;
    float *px = NULL;
    clgan_err e;
    if (idx_load(path, 0, -1, &h, &px, &e) == CLGAN_OK) free(px);
    idx_load(path, 1, 3, &h, &px, &e) == CLGAN_OK ? free(px) : (void)0;
    unlink(path);
    return 0;
}
