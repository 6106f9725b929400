/*
 * model_layer.c - one layer of a model file: a kind's name alone, or a mapping of `type`, the
 * keys of its class (parsed and range-checked from the class's key table) and the graph's
 * `name` and `from` (which model_graph.c resolves).
 */
#include "yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clgan_status parse_init(yctx *c, const yfield *fl, double *v) {
    const ynode *n = fl->val;
    if (n->type == Y_SCALAR) {
        if (strcmp(n->val, "xavier") == 0) {
            v[0] = INIT_XAVIER;
            v[1] = 0;
            return CLGAN_OK;
        }
        return yerr(c, n, "'init': unknown initialisation '%s' (expected: xavier, "
                          "{uniform: RANGE}, {normal: STDDEV})", n->val);
    }
    yfield f[] = {Y("uniform"), Y("normal")};
    TRY(y_fields(c, n, "init", f, NF(f)));
    if (HAS(f, "uniform") == HAS(f, "normal"))
        return yerr(c, n, "'init': give exactly one of uniform (half-range) or normal (stddev)");
    float scale;
    v[0] = HAS(f, "uniform") ? INIT_UNIFORM : INIT_NORMAL;
    TRY(y_num(c, FLD(f, HAS(f, "uniform") ? "uniform" : "normal"), "init", 0, 1, 100, 0, &scale));
    v[1] = scale;
    return CLGAN_OK;
}

static clgan_status parse_bias(yctx *c, const yfield *fl, double *v) {
    if (fl->val->type == Y_SCALAR && strcmp(fl->val->val, "logit_of_data_mean") == 0) {
        v[0] = INIT_LOGIT_DATA_MEAN;
        v[1] = 0;
        return CLGAN_OK;
    }
    float b;
    TRY(y_num(c, fl, "bias", -100, 0, 100, 0, &b));
    v[0] = INIT_CONST;
    v[1] = b;
    return CLGAN_OK;
}

/* One integer of a KEY_INT2 or KEY_SHAPE value (node n, from the key's field fl). */
static clgan_status key_int(yctx *c, const yfield *fl, const ynode *n, const char *where,
                            const layer_key *k, double *out) {
    yfield e = {fl->key, fl->key_node, n};
    long x;
    TRY(y_int(c, &e, where, (long)k->lo, (long)k->hi, &x));
    *out = (double)x;
    return CLGAN_OK;
}

/* The value of key k of a layer of kind `where`, from field fl, into v[k->slot...]. */
static clgan_status parse_key(yctx *c, const yfield *fl, const char *where, const layer_key *k,
                              double *v) {
    const ynode *n = fl->val;
    switch (k->type) {
    case KEY_INT: return key_int(c, fl, n, where, k, v);
    case KEY_NUM: {
        float x;
        TRY(y_num(c, fl, where, k->lo, (k->flags & KEY_LO_OPEN) != 0, k->hi,
                  (k->flags & KEY_HI_OPEN) != 0, &x));
        v[0] = x; /* float precision, as the device sees it */
        return CLGAN_OK;
    }
    case KEY_BOOL:
        if (n->type == Y_SCALAR && n->plain && strcmp(n->val, "true") == 0) v[0] = 1;
        else if (n->type == Y_SCALAR && n->plain && strcmp(n->val, "false") == 0) v[0] = 0;
        else
            return yerr(c, n, "'%s' in '%s': expected true or false, got %s%s%s", fl->key, where,
                        n->val ? "'" : "", n->val ? n->val : ytype_name(n), n->val ? "'" : "");
        return CLGAN_OK;
    case KEY_INT2:
        if ((k->flags & KEY_SAME) && n->type == Y_SCALAR && strcmp(n->val, "same") == 0) {
            v[0] = v[1] = -1;
            return CLGAN_OK;
        }
        if (n->type == Y_SCALAR) {
            char *end;
            (void)strtol(n->val, &end, 10);
            if ((k->flags & KEY_SAME) && (end == n->val || *end))
                return yerr(c, n, "'%s' in '%s': expected an integer, [height, width] or same, "
                                  "got '%s'", fl->key, where, n->val);
            TRY(key_int(c, fl, n, where, k, &v[0]));
            v[1] = v[0];
            return CLGAN_OK;
        }
        if (n->type != Y_SEQ || n->n != 2)
            return yerr(c, n, "'%s' in '%s': expected an integer or [height, width]%s, got %s%s",
                        fl->key, where, k->flags & KEY_SAME ? " or same" : "", ytype_name(n),
                        n->type == Y_SEQ ? (n->n == 1 ? " of 1 value" : " of more values")
                                         : "");
        for (int i = 0; i < 2; i++) TRY(key_int(c, fl, n->kids[i], where, k, &v[i]));
        return CLGAN_OK;
    case KEY_SHAPE:
        if (n->type != Y_SEQ || n->n != 3)
            return yerr(c, n, "'%s' in '%s': expected [channels, height, width], got %s%s",
                        fl->key, where, ytype_name(n),
                        n->type != Y_SEQ ? "" : n->n < 3 ? " of fewer values" : " of more values");
        for (int i = 0; i < 3; i++) TRY(key_int(c, fl, n->kids[i], where, k, &v[i]));
        return CLGAN_OK;
    case KEY_INIT: return parse_init(c, fl, v);
    case KEY_BIAS: return parse_bias(c, fl, v);
    }
    return CLGAN_OK;
}

/* The values of key k when a layer does not give it. */
static void key_default(const layer_key *k, double *v) {
    switch (k->type) {
    case KEY_INIT: v[0] = INIT_XAVIER, v[1] = 0; return;
    case KEY_BIAS: v[0] = INIT_CONST, v[1] = 0; return;
    case KEY_NUM: v[0] = (float)k->def; return; /* float precision, as if parsed */
    case KEY_INT:
    case KEY_BOOL:
    case KEY_INT2:
    case KEY_SHAPE:
        for (int i = 0; i < key_values(k->type); i++) v[i] = k->def;
        return;
    }
}

static int needs_settings(const layer_class *cls) {
    for (int i = 0; i < cls->n_keys; i++)
        if (cls->keys[i].flags & KEY_REQUIRED) return 1;
    return 0;
}

/* A layer (yaml_tree.h). */
clgan_status parse_layer(yctx *c, const ynode *n, layer_spec *L, const ynode **name_node,
                                const ynode **from_node) {
    memset(L, 0, sizeof *L);
    L->line = n->line;
    L->col = n->col;
    L->use_line = c->use_line;
    L->use_col = c->use_col;
    if (c->in_block) snprintf(L->block, sizeof L->block, "%s", c->in_block);
    if (name_node) *name_node = *from_node = NULL;
    const char *names[LAYER_KIND_COUNT];
    for (int k = 0; k < LAYER_KIND_COUNT; k++) names[k] = layer_kind_name((layer_kind)k);
    int kind = -1;
    if (n->type == Y_SCALAR) {
        kind = layer_kind_from_name(n->val);
        if (kind < 0) {
            char exp[512] = "";
            size_t used = 0;
            for (int k = 0; k < LAYER_KIND_COUNT && used < sizeof exp; k++)
                used += (size_t)snprintf(exp + used, sizeof exp - used, "%s%s", k ? ", " : "",
                                         names[k]);
            return yerr(c, n, "unknown layer type '%s' (expected: %s)", n->val, exp);
        }
        const layer_class *cls = layer_class_of((layer_kind)kind);
        if (needs_settings(cls))
            return yerr(c, n, "layer '%s' needs settings: write {type: %s, ...}", n->val, n->val);
        if (cls->min_inputs > 1)
            return yerr(c, n, "layer '%s' merges layers: write {type: %s, from: [a, b]}", n->val,
                        n->val);
        L->kind = (layer_kind)kind;
        for (int i = 0; i < cls->n_keys; i++) key_default(&cls->keys[i], &L->v[cls->keys[i].slot]);
        return CLGAN_OK;
    }
    if (n->type != Y_MAP)
        return yerr(c, n, "a layer is a type name or a mapping with 'type', got a list");
    /* Find the type first so the allowed keys can be named. */
    const ynode *tn = NULL;
    for (int i = 0; i + 1 < n->n; i += 2)
        if (n->kids[i]->type == Y_SCALAR && strcmp(n->kids[i]->val, "type") == 0) tn = n->kids[i + 1];
    if (!tn) return yerr(c, n, "missing required key 'type' in layer");
    yfield tf = {"type", NULL, tn};
    TRY(y_enum(c, &tf, "layer", names, LAYER_KIND_COUNT, &kind));
    L->kind = (layer_kind)kind;
    const layer_class *cls = layer_class_of(L->kind);
    const char *where = cls->name;
    /* type, the kind's keys, then the graph's name and from */
    enum { F_TYPE, F_KEYS };
    yfield f[F_KEYS + LAYER_MAX_VALUES + 2];
    int nf = F_KEYS + cls->n_keys + 2, F_NAME = nf - 2, F_FROM = nf - 1;
    f[F_TYPE] = (yfield)Y("type");
    for (int i = 0; i < cls->n_keys; i++) f[F_KEYS + i] = (yfield)Y(cls->keys[i].name);
    f[F_NAME] = (yfield)Y("name");
    f[F_FROM] = (yfield)Y("from");
    TRY(y_fields(c, n, where, f, nf));
    for (int i = 0; i < cls->n_keys; i++)
        if (cls->keys[i].flags & KEY_REQUIRED) TRY(y_require(c, n, f, nf, cls->keys[i].name, where));
    for (int i = 0; i < cls->n_keys; i++) {
        const layer_key *k = &cls->keys[i];
        if (f[F_KEYS + i].val) TRY(parse_key(c, &f[F_KEYS + i], where, k, &L->v[k->slot]));
        else key_default(k, &L->v[k->slot]);
    }
    for (int i = F_NAME; i <= F_FROM; i++)
        if (f[i].key_node && !name_node)
            return yerr(c, f[i].key_node, "'%s' names layers of a network: this layer stands "
                        "alone", f[i].key);
    if (name_node) {
        *name_node = f[F_NAME].val;
        *from_node = f[F_FROM].val;
    }
    if (cls->min_inputs > 1 && !f[F_FROM].val)
        return yerr(c, n, "'%s' merges layers: give them as 'from: [a, b]'", where);
    return CLGAN_OK;
}

clgan_status model_parse_layer(const char *text, layer_spec *L, clgan_err *e) {
    clgan_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    yctx c = {.m = m, .path = "layer"};
    ynode *root = NULL;
    clgan_status st = parse_tree(&c, text, strlen(text), &root);
    if (st == CLGAN_OK && !root) st = err_set(&m->err, CLGAN_ERR_YAML, "layer:1:1: empty");
    if (st == CLGAN_OK) st = parse_layer(&c, root, L, NULL, NULL);
    ynode_free(root);
    if (st != CLGAN_OK) err_set(e, st, "%s", m->err.msg);
    free(m);
    return st;
}
