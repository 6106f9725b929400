/*
 * fuzz_ckpt.c - libFuzzer target: the checkpoint reader (header length, JSON header, offsets,
 * dtypes, shapes, metadata and counters, the model inside) on arbitrary bytes. Seeds: tests/fuzz/corpus_ckpt.
 */
#include "fuzz_file.h"

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/clgan-fuzz-ckpt-XXXXXX";
    if (fuzz_to_file(data, size, path) != 0) return 0;
    ckpt c;
    clgan_err e;
    if (ckpt_open(path, &c, &e) == CLGAN_OK) {
        const float *v;
        if (ckpt_model(&c)->net[0].n_layers > 0) ckpt_tensor(&c, "generator.0.weight", 10, &v, &e);
        ckpt_meta(&c, "iter");
        ckpt_close(&c);
    }
    unlink(path);
    return 0;
}
