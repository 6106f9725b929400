/*
 * model_graph.c - a network's layers as a graph: each layer's `name:` and `from:` resolved to the
 * layers it reads, `blocks:` (parameterised sub-graphs) expanded at each use with `$param`
 * replaced, names local to each use, every layer given its path ("res_up#2.conv1"). The layers
 * come out in declaration order, each reading layers before it only (so there is no cycle).
 */
#include "yaml_tree.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_MAX_LAYERS 10000 /* a network's layers once its blocks are expanded */
#define BLOCK_MAX_PARAMS 32
#define LAYER_NAME_MAX 48

typedef enum param_type { P_INT, P_NUM, P_BOOL, P_STRING, P_LIST } param_type;
static const char *const param_type_names[] = {"int", "number", "bool", "string", "list"};
static const char *const param_type_words[] = {"an integer", "a number", "true or false",
                                               "a string", "a list"};

struct block_def {
    const char *name;
    const ynode *node;   /* its name's key node, for messages */
    const ynode *layers; /* the list it expands to */
    int n_params;
    const char *pname[BLOCK_MAX_PARAMS];
    param_type ptype[BLOCK_MAX_PARAMS];
    const ynode *pdef[BLOCK_MAX_PARAMS]; /* the default value, NULL: required */
    const ynode *pkey[BLOCK_MAX_PARAMS]; /* its declaration */
};

/* The names a list of layers gives, for the messages on a `from:` that names a later one. */
typedef struct scope {
    int input;          /* the layer `input` names: the block use's input, or -1 */
    const char *prefix; /* of paths: "" at a network's top, "res_up#2." inside a use */
    int top;            /* the network's own list: unnamed layers keep "" (their index) */
    const ynode *seq;
    const char **name;  /* names given so far, and the layer each names */
    int *idx, *line;
    int n, cap;
} scope;

static void scope_free(scope *s) {
    free(s->name);
    free(s->idx);
    free(s->line);
}

static clgan_status scope_add(yctx *c, scope *s, const ynode *name_node, int idx) {
    const char *v = name_node->val;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], v) == 0)
            return yerr(c, name_node, "two layers are named '%s' (the first at line %d)", v,
                        s->line[i]);
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        const char **nn = realloc(s->name, (size_t)cap * sizeof *nn);
        if (nn) s->name = nn;
        int *ni = realloc(s->idx, (size_t)cap * sizeof *ni);
        if (ni) s->idx = ni;
        int *nl = realloc(s->line, (size_t)cap * sizeof *nl);
        if (nl) s->line = nl;
        if (!nn || !ni || !nl) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        s->cap = cap;
    }
    s->name[s->n] = v;
    s->idx[s->n] = idx;
    s->line[s->n++] = name_node->line;
    return CLGAN_OK;
}

/* The value of key `key` of mapping n, or NULL. */
static const ynode *map_get(const ynode *n, const char *key) {
    if (!n || n->type != Y_MAP) return NULL;
    for (int i = 0; i + 1 < n->n; i += 2)
        if (n->kids[i]->type == Y_SCALAR && strcmp(n->kids[i]->val, key) == 0) return n->kids[i + 1];
    return NULL;
}

/* A layer's or a block's name: a letter or '_', then letters, digits and '_'. */
static clgan_status check_name(yctx *c, const ynode *v, const char *what) {
    if (v->type != Y_SCALAR)
        return yerr(c, v, "'%s': expected a name, got %s", what, ytype_name(v));
    size_t n = strlen(v->val);
    int ok = n > 0 && n <= LAYER_NAME_MAX && !isdigit((unsigned char)v->val[0]) &&
             strspn(v->val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
    if (!ok)
        return yerr(c, v, "'%s': expected a name of 1 to %d letters, digits and '_', not starting "
                    "with a digit; got '%.60s'", what, LAYER_NAME_MAX, v->val);
    if (strcmp(v->val, "input") == 0)
        return yerr(c, v, "'%s': 'input' names the network's (or a block's) input; choose "
                    "another name", what);
    return CLGAN_OK;
}

/* The layer `from:` item v names in scope s, for the layer at list position `pos`. */
static clgan_status resolve_from(yctx *c, const scope *s, int pos, const ynode *v, int *idx) {
    if (v->type != Y_SCALAR)
        return yerr(c, v, "'from': expected a layer's name, got %s", ytype_name(v));
    if (strcmp(v->val, "input") == 0) {
        *idx = s->input;
        return CLGAN_OK;
    }
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], v->val) == 0) {
            *idx = s->idx[i];
            return CLGAN_OK;
        }
    for (int i = pos; i < s->seq->n; i++) {
        const ynode *nm = map_get(s->seq->kids[i], "name");
        if (!nm || nm->type != Y_SCALAR || strcmp(nm->val, v->val) != 0) continue;
        if (i == pos)
            return yerr(c, v, "'from: %s' names the layer itself: a cycle (a layer reads the "
                        "layers before it)", v->val);
        return yerr(c, v, "'from: %s' names a later layer (line %d): a layer reads the layers "
                    "before it, so that there is no cycle", v->val, nm->line);
    }
    char known[400] = "";
    size_t used = 0;
    for (int i = 0; i < s->n && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s, ", s->name[i]);
    return yerr(c, v, "'from: %s' names no layer (the names before it: %sinput)", v->val, known);
}

/* Appends L to the network being expanded. */
static clgan_status out_add(yctx *c, const ynode *at, const layer_spec *L) {
    if (c->n_out == NET_MAX_LAYERS)
        return yerr(c, at, "the network expands to more than %d layers", NET_MAX_LAYERS);
    if (c->n_out == c->cap_out) {
        int cap = c->cap_out ? 2 * c->cap_out : 32;
        layer_spec *o = realloc(c->out, (size_t)cap * sizeof *o);
        if (!o) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        c->out = o;
        c->cap_out = cap;
    }
    c->out[c->n_out++] = *L;
    return CLGAN_OK;
}

/* The path of an item of scope s: prefix + its name, or + its index (not at the top). */
static clgan_status make_path(yctx *c, const scope *s, const ynode *at, const char *name, int pos,
                              char *out) {
    int n;
    if (name) n = snprintf(out, LAYER_PATH_MAX, "%s%s", s->prefix, name);
    else if (s->top) n = snprintf(out, LAYER_PATH_MAX, "%s", "");
    else n = snprintf(out, LAYER_PATH_MAX, "%s%d", s->prefix, pos);
    if (n >= LAYER_PATH_MAX)
        return yerr(c, at, "the layer's path '%s%s...' is longer than %d characters: use shorter "
                    "names", s->prefix, name ? name : "", LAYER_PATH_MAX - 1);
    return CLGAN_OK;
}

static block_def *block_find(yctx *c, const char *name) {
    for (int i = 0; i < c->n_blocks; i++)
        if (strcmp(c->blocks[i].name, name) == 0) return &c->blocks[i];
    return NULL;
}

/* A copy of n with every scalar `$p` replaced by a copy of block parameter p's value. */
static clgan_status subst_copy(yctx *c, const ynode *n, const block_def *b,
                               const ynode *const *args, ynode **out) {
    *out = NULL;
    if (b && n->type == Y_SCALAR && n->plain && n->val[0] == '$') {
        for (int i = 0; i < b->n_params; i++)
            if (strcmp(n->val + 1, b->pname[i]) == 0) return subst_copy(c, args[i], NULL, NULL, out);
        return yerr(c, n, "'%s' is no parameter of block '%s'", n->val, b->name);
    }
    if (++c->nodes > YAML_MAX_NODES)
        return yerr(c, n, "the model expands to more than %d YAML nodes", YAML_MAX_NODES);
    ynode *r = calloc(1, sizeof *r);
    if (!r) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    r->type = n->type;
    r->line = n->line;
    r->col = n->col;
    r->plain = n->plain;
    if (n->val && !(r->val = str_dup(n->val))) {
        free(r);
        return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n->n; i++) {
        ynode *k;
        clgan_status st = subst_copy(c, n->kids[i], b, args, &k);
        if (st == CLGAN_OK && ynode_add(r, k) != 0) {
            ynode_free(k);
            st = err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
        }
        if (st != CLGAN_OK) {
            ynode_free(r);
            return st;
        }
    }
    *out = r;
    return CLGAN_OK;
}

/* Whether value v has parameter type t (a scalar written as such, or a list). */
static int param_type_ok(const ynode *v, param_type t) {
    if (t == P_LIST) return v->type == Y_SEQ;
    if (v->type != Y_SCALAR) return 0;
    char *end;
    switch (t) {
    case P_INT: (void)strtol(v->val, &end, 10); return v->plain && end != v->val && !*end;
    case P_NUM: (void)strtod(v->val, &end); return v->plain && end != v->val && !*end;
    case P_BOOL: return v->plain && (!strcmp(v->val, "true") || !strcmp(v->val, "false"));
    case P_STRING: return 1;
    case P_LIST: return 0;
    }
    return 0;
}

static param_type param_type_of(const ynode *v) {
    for (param_type t = P_INT; t <= P_BOOL; t++)
        if (param_type_ok(v, t)) return t;
    return v->type == Y_SEQ ? P_LIST : P_STRING;
}

static clgan_status expand_list(yctx *c, const ynode *seq, scope *s, int *last);

/* A block's use: {block: NAME, name:, from:, and its parameters}; *last its output layer. */
static clgan_status expand_use(yctx *c, scope *s, int pos, int prev, const ynode *n, int *last) {
    const ynode *bn = map_get(n, "block");
    TRY(check_name(c, bn, "block"));
    block_def *b = block_find(c, bn->val);
    if (!b) {
        char known[400] = "";
        size_t used = 0;
        for (int i = 0; i < c->n_blocks && used < sizeof known; i++)
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                     c->blocks[i].name);
        return yerr(c, bn, "no block is named '%s' (the model's blocks: %s)", bn->val,
                    c->n_blocks ? known : "none; declare them under 'blocks:'");
    }
    for (int i = 0; i < c->n_active; i++)
        if (strcmp(c->active[i], b->name) == 0)
            return yerr(c, bn, "block '%s' uses itself%s%s: a block may use other blocks only",
                        b->name, c->n_active > 1 ? " through block " : "",
                        c->n_active > 1 ? c->active[c->n_active - 1] : "");
    /* its arguments: name, from, and each of the block's parameters once */
    const ynode *args[BLOCK_MAX_PARAMS] = {0}, *name = NULL, *from = NULL;
    for (int i = 0; i + 1 < n->n; i += 2) {
        const ynode *k = n->kids[i], *v = n->kids[i + 1];
        if (k->type != Y_SCALAR) return yerr(c, k, "'%s': keys must be plain names", b->name);
        if (!strcmp(k->val, "block")) continue;
        const ynode **slot = !strcmp(k->val, "name") ? &name : !strcmp(k->val, "from") ? &from : NULL;
        for (int j = 0; !slot && j < b->n_params; j++)
            if (!strcmp(k->val, b->pname[j])) slot = &args[j];
        if (!slot) {
            char exp[512] = "";
            size_t used = 0;
            for (int j = 0; j < b->n_params && used < sizeof exp; j++)
                used += (size_t)snprintf(exp + used, sizeof exp - used, "%s, ", b->pname[j]);
            return yerr(c, k, "unknown parameter '%s' of block '%s' (expected: %sname, from)",
                        k->val, b->name, exp);
        }
        if (*slot) return yerr(c, k, "duplicate key '%s' in the use of block '%s'", k->val, b->name);
        *slot = v;
    }
    for (int j = 0; j < b->n_params; j++) {
        if (!args[j] && !b->pdef[j])
            return yerr(c, n, "block '%s' needs parameter '%s' (%s, declared at line %d)",
                        b->name, b->pname[j], param_type_words[b->ptype[j]], b->pkey[j]->line);
        if (!args[j]) args[j] = b->pdef[j];
        else if (!param_type_ok(args[j], b->ptype[j]))
            return yerr(c, args[j], "parameter '%s' of block '%s': expected %s, got %s%s%s",
                        b->pname[j], b->name, param_type_words[b->ptype[j]], args[j]->val ? "'" : "", args[j]->val ? args[j]->val : ytype_name(args[j]),
                        args[j]->val ? "'" : "");
    }
    int input = prev;
    if (from) {
        if (from->type == Y_SEQ)
            return yerr(c, from, "'from' of a block's use names one layer, its input");
        TRY(resolve_from(c, s, pos, from, &input));
    }
    if (name) TRY(check_name(c, name, "name"));
    /* its path: the use's name, or BLOCK#K for its K-th use in this list */
    char prefix[LAYER_PATH_MAX + 2];
    if (name) {
        TRY(make_path(c, s, name, name->val, pos, prefix));
    } else {
        int k = 1;
        for (int i = 0; i < pos; i++) {
            const ynode *o = map_get(s->seq->kids[i], "block");
            k += o && o->type == Y_SCALAR && !strcmp(o->val, b->name);
        }
        char own[LAYER_NAME_MAX + 16];
        snprintf(own, sizeof own, "%s#%d", b->name, k);
        TRY(make_path(c, s, n, own, pos, prefix));
    }
    strcat(prefix, ".");
    ynode *body = NULL;
    int outer = c->use_line == 0;
    const char *in_block = c->in_block;
    if (outer) {
        c->use_line = n->line;
        c->use_col = n->col;
    }
    c->active[c->n_active++] = b->name;
    c->in_block = b->name;
    scope inner = {input, prefix, 0, NULL, NULL, NULL, NULL, 0, 0};
    clgan_status st = subst_copy(c, b->layers, b, args, &body);
    if (st == CLGAN_OK) {
        inner.seq = body;
        st = expand_list(c, body, &inner, last);
    }
    scope_free(&inner);
    ynode_free(body);
    c->n_active--;
    c->in_block = in_block;
    if (outer) c->use_line = c->use_col = 0;
    if (st == CLGAN_OK && name) st = scope_add(c, s, name, *last);
    return st;
}

/* The layers of list seq (of a network, or of a block's use) appended to c->out. */
static clgan_status expand_list(yctx *c, const ynode *seq, scope *s, int *last) {
    int prev = s->input;
    for (int pos = 0; pos < seq->n; pos++) {
        const ynode *n = seq->kids[pos];
        if (map_get(n, "block")) {
            if (c->n_active + 1 >= YAML_MAX_DEPTH)
                return yerr(c, n, "blocks nested deeper than %d levels", YAML_MAX_DEPTH);
            TRY(expand_use(c, s, pos, prev, n, &prev));
            continue;
        }
        layer_spec L;
        const ynode *name, *from;
        TRY(parse_layer(c, n, &L, &name, &from));
        if (name) TRY(check_name(c, name, "name"));
        TRY(make_path(c, s, n, name ? name->val : NULL, pos, L.path));
        const layer_class *cls = layer_class_of(L.kind);
        int max_in = cls->max_inputs > 1 ? cls->max_inputs : 1;
        if (!from) {
            L.n_in = 1;
            L.in_idx[0] = prev;
        } else if (from->type == Y_SEQ) {
            if (from->n < 1) return yerr(c, from, "'from': the list is empty");
            if (from->n > max_in)
                return yerr(c, from, "'from' names %d layers: '%s' reads %s%d", from->n,
                            cls->name, max_in > 1 ? "at most " : "", max_in);
            L.n_in = from->n;
            for (int i = 0; i < from->n; i++) TRY(resolve_from(c, s, pos, from->kids[i], &L.in_idx[i]));
        } else {
            L.n_in = 1;
            TRY(resolve_from(c, s, pos, from, &L.in_idx[0]));
        }
        if (cls->min_inputs > 1 && L.n_in < cls->min_inputs)
            return yerr(c, from, "'from' names %d layer%s: '%s' merges %d or more", L.n_in,
                        L.n_in == 1 ? "" : "s", cls->name, cls->min_inputs);
        TRY(out_add(c, n, &L));
        prev = c->n_out - 1;
        if (name) TRY(scope_add(c, s, name, prev));
    }
    if (seq->n == 0) return yerr(c, seq, "the list of layers is empty");
    *last = prev;
    return CLGAN_OK;
}

/* `blocks:` at the top level: NAME: {params: {P: default or type}, layers: [...]}. */
clgan_status parse_blocks(yctx *c, const ynode *n) {
    if (n->type != Y_MAP)
        return yerr(c, n, "'blocks': expected a mapping of block names to blocks, got %s",
                    ytype_name(n));
    c->blocks = calloc((size_t)n->n / 2 + 1, sizeof *c->blocks);
    if (!c->blocks) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    for (int i = 0; i + 1 < n->n; i += 2) {
        const ynode *k = n->kids[i], *v = n->kids[i + 1];
        TRY(check_name(c, k, "blocks"));
        for (int j = 0; j < c->n_blocks; j++)
            if (!strcmp(c->blocks[j].name, k->val))
                return yerr(c, k, "two blocks are named '%s' (the first at line %d)", k->val,
                            c->blocks[j].node->line);
        block_def *b = &c->blocks[c->n_blocks++];
        b->name = k->val;
        b->node = k;
        yfield f[] = {Y("params"), Y("layers")};
        char where[LAYER_NAME_MAX + 16];
        snprintf(where, sizeof where, "blocks.%s", k->val);
        TRY(y_fields(c, v, where, f, NF(f)));
        TRY(y_require(c, v, f, NF(f), "layers", where));
        b->layers = FLD(f, "layers")->val;
        if (b->layers->type != Y_SEQ || b->layers->n == 0)
            return yerr(c, b->layers, "'layers' in '%s': expected a list of layers, got %s%s",
                        where, ytype_name(b->layers), b->layers->type == Y_SEQ ? " (empty)" : "");
        const ynode *ps = FLD(f, "params")->val;
        if (ps && ps->type != Y_MAP)
            return yerr(c, ps, "'params' in '%s': expected a mapping of parameter names to "
                        "defaults or types (int, number, bool, string, list), got %s", where,
                        ytype_name(ps));
        for (int j = 0; ps && j + 1 < ps->n; j += 2) {
            const ynode *pk = ps->kids[j], *pv = ps->kids[j + 1];
            TRY(check_name(c, pk, "params"));
            if (!strcmp(pk->val, "name") || !strcmp(pk->val, "from") || !strcmp(pk->val, "block"))
                return yerr(c, pk, "'%s' is a key of every block's use: name the parameter "
                            "otherwise", pk->val);
            for (int q = 0; q < b->n_params; q++)
                if (!strcmp(b->pname[q], pk->val))
                    return yerr(c, pk, "duplicate parameter '%s' in '%s'", pk->val, where);
            if (b->n_params == BLOCK_MAX_PARAMS)
                return yerr(c, pk, "'%s' has more than %d parameters", where, BLOCK_MAX_PARAMS);
            int q = b->n_params++;
            b->pname[q] = pk->val;
            b->pkey[q] = pk;
            b->pdef[q] = pv;
            b->ptype[q] = param_type_of(pv);
            for (param_type t = P_INT; t <= P_LIST; t++)
                if (pv->type == Y_SCALAR && pv->plain && !strcmp(pv->val, param_type_names[t])) {
                    b->ptype[q] = t; /* a type: the parameter is required */
                    b->pdef[q] = NULL;
                }
        }
    }
    return CLGAN_OK;
}

clgan_status parse_net(yctx *c, const ynode *n, const char *which, net_spec *net) {
    yfield f[] = {Y("layers")};
    TRY(y_fields(c, n, which, f, NF(f)));
    TRY(y_require(c, n, f, NF(f), "layers", which));
    const ynode *ls = FLD(f, "layers")->val;
    net->line = n->line;
    net->col = n->col;
    if (ls->type != Y_SEQ)
        return yerr(c, ls, "'layers' in '%s': expected a list of layers, got %s", which,
                    ytype_name(ls));
    if (ls->n == 0) return yerr(c, ls, "'layers' in '%s': the list is empty", which);
    scope top = {-1, "", 1, ls, NULL, NULL, NULL, 0, 0};
    c->out = NULL;
    c->n_out = c->cap_out = 0;
    int last;
    clgan_status st = expand_list(c, ls, &top, &last);
    scope_free(&top);
    net->layers = c->out;
    net->n_layers = c->n_out;
    c->out = NULL;
    return st;
}
