/*
 * layer_reference.c - the model language's layer reference from the kinds' own key tables
 * (layer.h), for clgan.h: every kind, its traits, and each key's type, range and default as
 * text. `clgan layers` prints it; `--markdown` writes docs/model_language.md from it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"

/* A bound or default: an integer as one, else the shortest form that reads back. */
static void number(double v, char *buf, size_t len) {
    if (v == floor(v) && fabs(v) < 1e15) {
        long x = (long)v;
        if (x == 1L << 30) snprintf(buf, len, "2^30");
        else if (x == 1L << 20) snprintf(buf, len, "2^20");
        else snprintf(buf, len, "%ld", x);
    } else {
        snprintf(buf, len, "%g", v);
    }
}

static const char *type_text(const layer_key *k) {
    switch (k->type) {
    case KEY_INT: return "integer";
    case KEY_NUM: return "number";
    case KEY_BOOL: return "true or false";
    case KEY_INT2: return k->flags & KEY_SAME ? "integer, [h, w] or same" : "integer or [h, w]";
    case KEY_SHAPE: return "[channels, height, width]";
    case KEY_INIT: return "xavier, {uniform: R} or {normal: S}";
    case KEY_BIAS: return "a number, or logit_of_data_mean";
    }
    return "?";
}

static void range_text(const layer_key *k, char *buf, size_t len) {
    char lo[24], hi[24];
    switch (k->type) {
    case KEY_INT:
    case KEY_NUM:
    case KEY_INT2:
    case KEY_SHAPE:
        number(k->lo, lo, sizeof lo);
        number(k->hi, hi, sizeof hi);
        snprintf(buf, len, "%s%s, %s%s", k->flags & KEY_LO_OPEN ? "(" : "[", lo, hi,
                 k->flags & KEY_HI_OPEN ? ")" : "]");
        return;
    case KEY_BIAS: snprintf(buf, len, "[-100, 100]"); return;
    case KEY_BOOL:
    case KEY_INIT: snprintf(buf, len, "-"); return;
    }
    snprintf(buf, len, "?");
}

static void default_text(const layer_key *k, char *buf, size_t len) {
    if (k->flags & KEY_REQUIRED) {
        snprintf(buf, len, "required");
        return;
    }
    switch (k->type) {
    case KEY_BOOL: snprintf(buf, len, "%s", k->def ? "true" : "false"); return;
    case KEY_INIT: snprintf(buf, len, "xavier"); return;
    case KEY_BIAS: snprintf(buf, len, "0"); return;
    case KEY_INT2:
        if ((k->flags & KEY_SAME) && k->def < 0) {
            snprintf(buf, len, "same");
            return;
        }
        break;
    default: break;
    }
    number(k->def, buf, len);
}

/* What a kind is beyond its keys: inputs, labels, penalties. */
static void traits(const layer_class *c, char *buf, size_t len) {
    size_t at = 0;
    buf[0] = '\0';
    if (c->max_inputs > 1)
        at += (size_t)snprintf(buf + at, len - at, "merges %d to %d inputs (from: [a, b, ...])",
                               c->min_inputs, c->max_inputs);
    if ((c->needs_labels || c->reads_labels) && at < len)
        at += (size_t)snprintf(buf + at, len - at, "%sreads each row's label (condition)%s",
                               at ? "; " : "", c->needs_labels ? "" : " where a key says so");
    if (at < len)
        snprintf(buf + at, len - at, "%s%s", at ? "; " : "",
                 c->tangent ? "gradient penalties pass it"
                            : "gradient penalties refuse it in D");
}

int clgan_layer_kinds(void) {
    return LAYER_KIND_COUNT;
}

clgan_status clgan_layer_kind_info(int kind, clgan_kind_info *out) {
    memset(out, 0, sizeof *out);
    if (kind < 0 || kind >= LAYER_KIND_COUNT) return CLGAN_ERR_ARG;
    const layer_class *c = layer_class_of((layer_kind)kind);
    out->name = c->name;
    traits(c, out->traits, sizeof out->traits);
    out->n_keys = c->n_keys;
    return CLGAN_OK;
}

clgan_status clgan_layer_key_info(int kind, int i, clgan_key_info *out) {
    memset(out, 0, sizeof *out);
    if (kind < 0 || kind >= LAYER_KIND_COUNT) return CLGAN_ERR_ARG;
    const layer_class *c = layer_class_of((layer_kind)kind);
    if (i < 0 || i >= c->n_keys) return CLGAN_ERR_ARG;
    const layer_key *k = &c->keys[i];
    out->name = k->name;
    out->type = type_text(k);
    range_text(k, out->range, sizeof out->range);
    default_text(k, out->def, sizeof out->def);
    out->init_only = (k->flags & KEY_INIT_ONLY) != 0;
    return CLGAN_OK;
}
