/*
 * yaml_tree.c - a model file's YAML as a tree of nodes with positions (libyaml's event API),
 * and the schema helpers that check mappings, scalars and ranges against the model language.
 * Aliases are refused outright (no "billion laughs"), as are documents past the size, node and
 * depth limits, before anything is expanded.
 */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include "yaml_tree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

clgan_status yerr_at(yctx *c, int line, int col, clgan_status st, const char *fmt, ...) {
    char msg[CLGAN_MSG_MAX - 1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->use_line) /* inside a block: the use first, then the line in the block */
        return err_set(&c->m->err, st, "%s:%d:%d: in block '%s' (line %d:%d): %s", c->path,
                       c->use_line, c->use_col, c->in_block, line, col, msg);
    return err_set(&c->m->err, st, "%s:%d:%d: %s", c->path, line, col, msg);
}

void ynode_free(ynode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) ynode_free(n->kids[i]);
    free(n->kids);
    free(n->val);
    free(n);
}

int ynode_add(ynode *parent, ynode *kid) {
    if (parent->n == parent->cap) {
        int cap = parent->cap ? parent->cap * 2 : 8;
        ynode **k = realloc(parent->kids, (size_t)cap * sizeof *k);
        if (!k) return -1;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

const char *ytype_name(const ynode *n) {
    return n->type == Y_MAP ? "a mapping" : n->type == Y_SEQ ? "a list" : "a scalar";
}

/* line:col of a byte offset, for reader errors that carry no mark. */
static void offset_pos(const char *text, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

clgan_status parse_tree(yctx *c, const char *text, size_t len, ynode **root) {
    yaml_parser_t p;
    yaml_event_t ev;
    ynode *stack[YAML_MAX_DEPTH + 1];
    int depth = 0, docs = 0, done = 0;
    clgan_status st = CLGAN_OK;
    *root = NULL;
    if (!yaml_parser_initialize(&p)) return err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            int line = (int)p.problem_mark.line + 1, col = (int)p.problem_mark.column + 1;
            if (p.error == YAML_READER_ERROR) offset_pos(text, p.problem_offset, &line, &col);
            char extra[160] = "";
            size_t off = p.problem_mark.index;
            if (p.error != YAML_READER_ERROR && off < len && text[off] == '\t')
                snprintf(extra, sizeof extra, " (a tab: indent with spaces)");
            else if (p.context && p.context_mark.line != p.problem_mark.line)
                snprintf(extra, sizeof extra, " that starts at line %d, column %d",
                         (int)p.context_mark.line + 1, (int)p.context_mark.column + 1);
            st = yerr_at(c, line, col, CLGAN_ERR_YAML, "YAML syntax error: %s%s%s%s",
                         p.problem ? p.problem : "malformed document", p.context ? " " : "",
                         p.context ? p.context : "", extra);
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                st = yerr_at(c, line, col, CLGAN_ERR_YAML,
                             "a model file holds one YAML document; found a second one");
            break;
        case YAML_ALIAS_EVENT:
            st = yerr_at(c, line, col, CLGAN_ERR_YAML,
                         "aliases (*%s) are not allowed in model files: write the value out",
                         (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++c->nodes > YAML_MAX_NODES) {
                st = yerr_at(c, line, col, CLGAN_ERR_YAML,
                             "model file has more than %d nodes; refusing to read it",
                             YAML_MAX_NODES);
                break;
            }
            n = calloc(1, sizeof *n);
            if (!n) {
                st = err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
                break;
            }
            n->line = line;
            n->col = col;
            if (ev.type == YAML_SCALAR_EVENT) {
                n->type = Y_SCALAR;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->val = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                if (!n->val || strlen(n->val) != ev.data.scalar.length) {
                    if (n->val)
                        st = yerr_at(c, line, col, CLGAN_ERR_YAML,
                                     "scalar contains a NUL character");
                    else
                        st = err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
                    ynode_free(n);
                    n = NULL;
                    break;
                }
            } else {
                n->type = ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
            }
            if (depth == 0) {
                *root = n;
            } else if (ynode_add(stack[depth - 1], n) != 0) {
                ynode_free(n);
                st = err_set(&c->m->err, CLGAN_ERR_NOMEM, "out of memory");
                break;
            }
            if (n->type != Y_SCALAR) {
                if (depth >= YAML_MAX_DEPTH) {
                    st = yerr_at(c, line, col, CLGAN_ERR_YAML,
                                 "nesting deeper than %d levels", YAML_MAX_DEPTH);
                    break;
                }
                stack[depth++] = n;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        default: break;
        }
        yaml_event_delete(&ev);
        if (st != CLGAN_OK) break;
    }
    yaml_parser_delete(&p);
    if (st != CLGAN_OK) {
        ynode_free(*root);
        *root = NULL;
    }
    return st;
}

/* ---- schema helpers ------------------------------------------------------------------------ */

yfield *fget(yfield *f, int nf, const char *key) {
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i].key, key) == 0) return &f[i];
    return NULL;
}

/* Matches a mapping's keys against the allowed set: unknown and duplicate keys are errors. */
clgan_status y_fields(yctx *c, const ynode *map, const char *where, yfield *f, int nf) {
    if (map->type != Y_MAP)
        return yerr(c, map, "'%s': expected a mapping, got %s%s%s%s", where, ytype_name(map),
                    map->val ? " '" : "", map->val ? map->val : "", map->val ? "'" : "");
    for (int i = 0; i < nf; i++) f[i].key_node = f[i].val = NULL;
    for (int i = 0; i + 1 < map->n; i += 2) {
        const ynode *k = map->kids[i], *v = map->kids[i + 1];
        if (k->type != Y_SCALAR) return yerr(c, k, "'%s': keys must be plain names", where);
        yfield *fl = fget(f, nf, k->val);
        if (!fl) {
            char exp[512] = "";
            size_t used = 0;
            for (int j = 0; j < nf && used < sizeof exp; j++)
                used += (size_t)snprintf(exp + used, sizeof exp - used, "%s%s", j ? ", " : "",
                                         f[j].key);
            return yerr(c, k, "unknown key '%s' in '%s' (expected: %s)", k->val, where, exp);
        }
        if (fl->key_node)
            return yerr(c, k, "duplicate key '%s' in '%s' (first at line %d)", k->val, where,
                        fl->key_node->line);
        fl->key_node = k;
        fl->val = v;
    }
    return CLGAN_OK;
}

clgan_status y_require(yctx *c, const ynode *map, yfield *f, int nf, const char *key,
                              const char *where) {
    yfield *fl = fget(f, nf, key);
    if (!fl || !fl->val) return yerr(c, map, "missing required key '%s' in '%s'", key, where);
    return CLGAN_OK;
}

clgan_status y_scalar(yctx *c, const yfield *fl, const char *where, const char *expected) {
    if (fl->val->type != Y_SCALAR)
        return yerr(c, fl->val, "'%s' in '%s': expected %s, got %s", fl->key, where, expected,
                    ytype_name(fl->val));
    return CLGAN_OK;
}

clgan_status y_int(yctx *c, const yfield *fl, const char *where, long lo, long hi,
                          long *out) {
    char expected[96];
    snprintf(expected, sizeof expected, "an integer in [%ld, %ld]", lo, hi);
    clgan_status st = y_scalar(c, fl, where, expected);
    if (st != CLGAN_OK) return st;
    const char *s = fl->val->val;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!fl->val->plain)
        return yerr(c, fl->val, "'%s' in '%s': expected %s, got the quoted string \"%s\"",
                    fl->key, where, expected, s);
    if (end == s || *end != '\0')
        return yerr(c, fl->val, "'%s' in '%s': expected %s, got '%s'", fl->key, where, expected, s);
    if (errno == ERANGE || v < lo || v > hi)
        return yerr(c, fl->val, "'%s' in '%s': %s is out of range, expected %s", fl->key, where,
                    s, expected);
    *out = (long)v;
    return CLGAN_OK;
}

clgan_status y_u64(yctx *c, const yfield *fl, const char *where, uint64_t *out) {
    clgan_status st = y_scalar(c, fl, where, "a non-negative integer");
    if (st != CLGAN_OK) return st;
    const char *s = fl->val->val;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-' || !fl->val->plain || errno == ERANGE)
        return yerr(c, fl->val, "'%s' in '%s': expected a non-negative 64-bit integer, got '%s'",
                    fl->key, where, s);
    *out = v;
    return CLGAN_OK;
}

/* A number in [lo, hi]; open ends exclude the bound. */
clgan_status y_num(yctx *c, const yfield *fl, const char *where, double lo, int lo_open,
                          double hi, int hi_open, float *out) {
    char expected[128];
    snprintf(expected, sizeof expected, "a number in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
             hi_open ? ')' : ']');
    clgan_status st = y_scalar(c, fl, where, expected);
    if (st != CLGAN_OK) return st;
    const char *s = fl->val->val;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!fl->val->plain)
        return yerr(c, fl->val, "'%s' in '%s': expected %s, got the quoted string \"%s\"",
                    fl->key, where, expected, s);
    if (end == s || *end != '\0' || !isfinite(v))
        return yerr(c, fl->val, "'%s' in '%s': expected %s, got '%s'", fl->key, where, expected, s);
    if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi))
        return yerr(c, fl->val, "'%s' in '%s': %s is out of range, expected %s", fl->key, where,
                    s, expected);
    *out = (float)v;
    return CLGAN_OK;
}

clgan_status y_enum(yctx *c, const yfield *fl, const char *where, const char *const *names,
                           int n, int *out) {
    char exp[256] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof exp; i++)
        used += (size_t)snprintf(exp + used, sizeof exp - used, "%s%s", i ? ", " : "", names[i]);
    clgan_status st = y_scalar(c, fl, where, "one of the names");
    if (st != CLGAN_OK) return st;
    for (int i = 0; i < n; i++)
        if (strcmp(fl->val->val, names[i]) == 0) {
            *out = i;
            return CLGAN_OK;
        }
    return yerr(c, fl->val, "'%s' in '%s': unknown value '%s' (expected: %s)", fl->key, where,
                fl->val->val, exp);
}

/* A key that only applies to another variant: "'beta1' applies to adam, not sgd". */
clgan_status y_only(yctx *c, yfield *f, int nf, const char *key, const char *applies,
                           const char *actual) {
    yfield *fl = fget(f, nf, key);
    if (fl && fl->key_node)
        return yerr(c, fl->key_node, "'%s' applies to %s, not %s", key, applies, actual);
    return CLGAN_OK;
}
