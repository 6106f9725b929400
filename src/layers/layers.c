/*
 * layers.c - the table of layer classes, one row of layer_table.h each, and what every kind
 * shares. The static assertion fails the build if a kind has no class.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"

#define LAYER_CLASS_DECL(e, c) extern const layer_class layer_##c;
LAYER_TABLE(LAYER_CLASS_DECL)
#undef LAYER_CLASS_DECL

#define LAYER_CLASS_ROW(e, c) [LAYER_##e] = &layer_##c,
static const layer_class *const layer_classes[] = {LAYER_TABLE(LAYER_CLASS_ROW)};
#undef LAYER_CLASS_ROW

static_assert(ARRAY_LEN(layer_classes) == LAYER_KIND_COUNT, "every layer kind has one class");

const layer_class *layer_class_of(layer_kind k) {
    return layer_classes[k];
}

const char *layer_kind_name(layer_kind k) {
    return (unsigned)k < LAYER_KIND_COUNT ? layer_classes[k]->name : "?";
}

int layer_kind_from_name(const char *name) {
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        if (strcmp(name, layer_classes[k]->name) == 0) return k;
    return -1;
}

int layer_needs_labels(const layer_spec *L) {
    const layer_class *c = layer_classes[L->kind];
    return c->needs_labels || (c->reads_labels && c->reads_labels(L));
}

int layer_params(const layer_spec *L, param_info *out) {
    return layer_classes[L->kind]->params(L, out);
}

int key_values(key_type t) {
    switch (t) {
    case KEY_INT:
    case KEY_NUM:
    case KEY_BOOL: return 1;
    case KEY_INT2:
    case KEY_INIT:
    case KEY_BIAS: return 2;
    case KEY_SHAPE: return 3;
    }
    return 1;
}

int layer_no_gemms(const clgan_device *dev, const layer_spec *L, int rows, int fwd, int din, int dw,
                   gemm_shape *out) {
    (void)dev, (void)L, (void)rows, (void)fwd, (void)din, (void)dw, (void)out;
    return 0;
}

void layer_no_detail(const layer_spec *L, char *buf, size_t len) {
    (void)L;
    if (len) buf[0] = '\0';
}

int layer_no_params(const layer_spec *L, param_info *out) {
    (void)L, (void)out;
    return 0;
}

int layer_image_input(const layer_spec *L, char *why, size_t len) {
    if (shape_is_image(L->in)) return 0;
    snprintf(why, len, "its input is flat (%ld values from the layer before), not an image: put "
             "{type: reshape, shape: [C, H, W]} before it", shape_size(L->in));
    return -1;
}
