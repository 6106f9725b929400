/*
 * cli_layers.c - clgan layers: every layer kind with its YAML keys, their types, ranges and
 * defaults, read from the kinds' own key tables (layer.h): the single source of the model
 * language's layer reference. --markdown writes it as the page docs/model_language.md holds
 * (a test compares the two).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
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

int cmd_layers(const cli_opts *o) {
    int md = opt_get(o, "--markdown") != NULL;
    if (md)
        printf("# The model language: layer kinds\n\n"
               "Written by `clgan layers --markdown` from the kinds' own key tables "
               "(`src/layers/`); a test fails when this page and the tables differ.\n\n"
               "A layer is `{type: KIND, key: value, ...}`, or the kind's name alone where it "
               "needs no key. Every layer may also have `name:` (a name later layers and "
               "checkpoints use) and `from:` (the name of the layer it reads, `input` for the "
               "network's or the block's input, or a list for a merge; the default is the "
               "layer before). A block is used as `{block: NAME, param: value, ...}`.\n");
    for (int k = 0; k < LAYER_KIND_COUNT; k++) {
        const layer_class *c = layer_class_of((layer_kind)k);
        char tr[160];
        traits(c, tr, sizeof tr);
        if (md) {
            if (tr[0] >= 'a' && tr[0] <= 'z') tr[0] = (char)(tr[0] - 'a' + 'A');
            printf("\n## %s\n\n%s.\n\n", c->name, tr);
            if (c->n_keys == 0) {
                printf("No keys.\n");
                continue;
            }
            printf("| key | type | range | default |\n|---|---|---|---|\n");
        } else {
            printf("%s%s  (%s)\n", k ? "\n" : "", c->name, tr);
            if (c->n_keys == 0) printf("  no keys\n");
        }
        for (int i = 0; i < c->n_keys; i++) {
            const layer_key *key = &c->keys[i];
            char range[96], def[32];
            range_text(key, range, sizeof range);
            default_text(key, def, sizeof def);
            const char *init = key->flags & KEY_INIT_ONLY ? " (initial values only)" : "";
            if (md)
                printf("| `%s` | %s | %s | %s%s |\n", key->name, type_text(key), range, def,
                       init);
            else
                printf("  %-16s %-36s %-18s %s%s\n", key->name, type_text(key), range, def,
                       init);
        }
    }
    return 0;
}
