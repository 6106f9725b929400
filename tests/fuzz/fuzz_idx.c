/*
 * fuzz_idx.c - libFuzzer target: the IDX reader (through zlib, so gzip'd inputs too) on
 * arbitrary bytes. Seeds: tests/fuzz/corpus_idx.
 */
#include "fuzz_file.h"

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/clgan-fuzz-idx-XXXXXX";
    if (fuzz_to_file(data, size, path) != 0) return 0;
    idx_header h;
    float *px = NULL;
    clgan_err e;
    if (idx_load(path, 0, -1, &h, &px, &e) == CLGAN_OK) free(px);
    if (idx_load(path, 1, 3, &h, &px, &e) == CLGAN_OK) free(px);
    unlink(path);
    return 0;
}
