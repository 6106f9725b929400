/*
 * fuzz_yaml.c - libFuzzer target: the model loader on arbitrary bytes must return a status and
 * a message, never crash, hang or leak. Seeds: tests/fuzz/corpus_yaml (valid and broken models).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    clgan_model *m = NULL;
    /* a known data shape: the fuzzer explores the language, not the file system */
    shape3 s = {1, 28, 28, 0};
    model_load_text("fuzz.yaml", (const char *)data, size, &s, &m);
    clgan_model_free(m);
    return 0;
}
