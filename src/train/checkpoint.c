/*
 * checkpoint.c - safetensors writing and reading; the JSON header goes through cJSON, after a
 * strict lexical check of its own (cJSON accepts things that JSON, and Python's reader, refuse:
 * leading zeros, control bytes as whitespace, invalid UTF-8, over-long numbers, "\u0000" that
 * cuts a key short). tools/read_checkpoint.py makes the same checks in the same order, so both
 * accept and refuse the same files; the one check it cannot make is that model_yaml parses into
 * the declared layers (numpy alone reads no YAML).
 */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "comm.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_MAX_HEADER (64u << 20)
#define CKPT_MAX_NUMBER_CHARS 32       /* a JSON number token, as cJSON reads up to 63 */
#define CKPT_MAX_COUNTER ((1ULL << 48) - 1)
#define CKPT_MAX_DIM ((1L << 31) - 1)  /* one tensor dimension, as the header may state it */

/*
 * The name of a tensor in checkpoints: <net>.<layer>.<param>[, optimizer.(...).<state>], the
 * layer by its path in a graph ("res_up#2.conv1") or else its index.
 */
static char *tensor_name(clgan_net net, const net_spec *ns, int layer, const char *param,
                         const char *state) {
    const char *w = model_net_name(net);
    char lp[LAYER_PATH_MAX];
    layer_path(ns, layer, lp, sizeof lp);
    return state ? str_fmt("optimizer.%s.%s.%s.%s", w, lp, param, state)
                 : str_fmt("%s.%s.%s", w, lp, param);
}


/* ---- the tensors a model has ---------------------------------------------------------------- */

typedef struct tensor_ref {
    char *name;
    int ndim;
    long shape[4];
    size_t count;  /* floats */
    clgan_net net;
    int layer, param, state; /* state -1: the parameter itself */
    int ema;                 /* the generator's averaged weights (train.ema) */
} tensor_ref;

typedef struct tensor_list {
    tensor_ref *v;
    int n, cap;
} tensor_list;

static void tensor_list_free(tensor_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/*
 * Every tensor a checkpoint of a model of this kind holds, in file order: per network, the
 * parameters, then each optimizer state over all of them (nets and opt are indexed by
 * clgan_net). Grows as needed.
 */
static clgan_status expected_tensors(model_kind kind, const net_spec *nets, const optim_kind *opt,
                                     int ema, tensor_list *out) {
    memset(out, 0, sizeof *out);
    clgan_net ws[MODEL_NETS + 1];
    int nw = model_kind_nets(kind, ws);
    if (ema) ws[nw++] = CLGAN_GENERATOR; /* then ema.generator.<i>.<param>, every tensor */
    for (int wi = 0; wi < nw; wi++) {
        clgan_net w = ws[wi];
        int is_ema = ema && wi == nw - 1;
        const char *const *states = NULL;
        int ns = is_ema ? 0 : optim_states_of(opt[w], &states);
        for (int s = -1; s < ns; s++)
            for (int i = 0; i < nets[w].n_layers; i++) {
                param_info ps[LAYER_MAX_PARAMS];
                int np = layer_params(&nets[w].layers[i], ps);
                for (int j = 0; j < np; j++) {
                    if (s >= 0 && !ps[j].trainable) continue; /* no optimizer state */
                    if (out->n == out->cap) {
                        int cap = out->cap ? 2 * out->cap : 64;
                        tensor_ref *v = realloc(out->v, (size_t)cap * sizeof *v);
                        if (!v) goto nomem;
                        out->v = v;
                        out->cap = cap;
                    }
                    tensor_ref *t = &out->v[out->n];
                    t->name = tensor_name(w, &nets[w], i, ps[j].name, s < 0 ? NULL : states[s]);
                    if (t->name && is_ema) {
                        char *e = str_fmt("ema.%s", t->name);
                        free(t->name);
                        t->name = e;
                    }
                    if (!t->name) goto nomem;
                    out->n++;
                    t->ndim = ps[j].ndim;
                    memcpy(t->shape, ps[j].shape, sizeof t->shape);
                    t->count = (size_t)ps[j].count;
                    t->net = w;
                    t->layer = i;
                    t->param = j;
                    t->state = s;
                    t->ema = is_ema;
                }
            }
    }
    return CLGAN_OK;
nomem:
    tensor_list_free(out);
    return CLGAN_ERR_NOMEM;
}

/* ---- metadata both ways --------------------------------------------------------------------- */

/*
 * The settings a checkpoint records of a layer: every key of its class but those that only
 * shape the initial parameters, as JSON numbers, booleans, [h, w] (or "same") and [c, h, w].
 * Written by layers_json, read back within the model language's ranges by layers_from_meta,
 * compared by same_layers.
 */
static int recorded(const layer_key *k) {
    return !(k->flags & KEY_INIT_ONLY);
}

static cJSON *key_json(const layer_key *k, const double *v) {
    switch (k->type) {
    case KEY_INT:
    case KEY_NUM: return cJSON_CreateNumber(v[0]);
    case KEY_BOOL: return cJSON_CreateBool(v[0] != 0);
    case KEY_INT2:
        if (v[0] < 0) return cJSON_CreateString("same");
        /* fall through */
    case KEY_SHAPE:
    case KEY_INIT:
    case KEY_BIAS: {
        cJSON *a = cJSON_CreateArray();
        for (int i = 0; a && i < key_values(k->type); i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
        return a;
    }
    }
    return NULL;
}

/* A number within key k's range (an integer where k's values are). Range first: no UB. */
static int key_number(const layer_key *k, const cJSON *x, double *v) {
    if (!cJSON_IsNumber(x)) return 0;
    double d = x->valuedouble;
    int ok = ((k->flags & KEY_LO_OPEN) ? d > k->lo : d >= k->lo) &&
             ((k->flags & KEY_HI_OPEN) ? d < k->hi : d <= k->hi);
    if (ok && k->type != KEY_NUM) ok = d == (double)(long)d;
    /* numbers are floats, as the model's parser keeps them (cJSON prints 15 digits) */
    if (ok) *v = k->type == KEY_NUM ? (double)(float)d : d;
    return ok;
}

static int key_from_json(const layer_key *k, const cJSON *x, double *v) {
    switch (k->type) {
    case KEY_INT:
    case KEY_NUM: return key_number(k, x, v);
    case KEY_BOOL:
        if (!cJSON_IsBool(x)) return 0;
        v[0] = cJSON_IsTrue(x);
        return 1;
    case KEY_INT2:
        if ((k->flags & KEY_SAME) && cJSON_IsString(x) && strcmp(x->valuestring, "same") == 0) {
            v[0] = v[1] = -1;
            return 1;
        }
        /* fall through */
    case KEY_SHAPE:
    case KEY_INIT:
    case KEY_BIAS: {
        int n = key_values(k->type), i = 0;
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) != n) return 0;
        for (const cJSON *e = x->child; e; e = e->next, i++)
            if (!key_number(k, e, &v[i])) return 0;
        return 1;
    }
    }
    return 0;
}

static cJSON *layers_json(const net_spec *ns) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < ns->n_layers; i++) {
        const layer_spec *L = &ns->layers[i];
        const layer_class *cls = layer_class_of(L->kind);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", cls->name);
        if (L->path[0]) cJSON_AddStringToObject(o, "name", L->path);
        if (L->n_in != 1 || L->in_idx[0] != i - 1) { /* a graph's: not just the layer before */
            cJSON *from = cJSON_AddArrayToObject(o, "from");
            for (int k = 0; from && k < L->n_in; k++)
                cJSON_AddItemToArray(from, cJSON_CreateNumber(L->in_idx[k]));
        }
        for (int k = 0; k < cls->n_keys; k++) {
            const layer_key *key = &cls->keys[k];
            int at_default = 1;
            for (int j = 0; j < key_values(key->type); j++)
                at_default &= L->v[key->slot + j] == key->def;
            if (recorded(key) && !((key->flags & KEY_SPARSE) && at_default))
                cJSON_AddItemToObject(o, key->name, key_json(key, &L->v[key->slot]));
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Whether two networks declare the same layers (the settings checkpoints record). */
static int same_layers(const net_spec *a, const net_spec *b) {
    if (a->n_layers != b->n_layers) return 0;
    for (int i = 0; i < a->n_layers; i++) {
        const layer_spec *x = &a->layers[i], *y = &b->layers[i];
        if (x->kind != y->kind || strcmp(x->path, y->path) != 0) return 0;
        if (x->n_in != y->n_in) return 0;
        for (int k = 0; k < x->n_in; k++)
            if (x->in_idx[k] != y->in_idx[k]) return 0;
        const layer_class *cls = layer_class_of(x->kind);
        for (int k = 0; k < cls->n_keys; k++) {
            const layer_key *key = &cls->keys[k];
            for (int j = 0; recorded(key) && j < key_values(key->type); j++)
                if (x->v[key->slot + j] != y->v[key->slot + j]) return 0;
        }
    }
    return 1;
}

static cJSON *states_json(const clgan_model *m) {
    cJSON *o = cJSON_CreateObject();
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(m, ws);
    for (int i = 0; i < nw; i++) {
        const char *const *names;
        int n = optim_states_of(m->train.opt[ws[i]].kind, &names);
        cJSON_AddItemToObject(o, model_net_name(ws[i]), cJSON_CreateStringArray(names, n));
    }
    return o;
}

static void meta_json(cJSON *meta, const char *key, cJSON *value) {
    char *s = value ? cJSON_PrintUnformatted(value) : NULL;
    cJSON_AddStringToObject(meta, key, s ? s : "");
    cJSON_free(s);
    cJSON_Delete(value);
}

static void meta_u64(cJSON *meta, const char *key, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    cJSON_AddStringToObject(meta, key, buf);
}

/* ---- writing ------------------------------------------------------------------------------ */

clgan_status checkpoint_save(trainer *t, const char *path, clgan_err *e) {
    const clgan_model *m = t->m;
    optim_kind kinds[MODEL_NETS];
    for (int w = 0; w < MODEL_NETS; w++) kinds[w] = m->train.opt[w].kind;
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(m, ws);
    /* ADA's state: synced by every rank before rank 0 writes (trainer_ada_sync) */
    if (m->train.augment.target > 0 && !comm_active(t->comm) && trainer_ada_sync(t) != CLGAN_OK)
        return err_set(e, CLGAN_ERR_CL, "%s", t->dev->err.msg);
    const float *ada = t->ada_state;
    tensor_list ts;
    if (expected_tensors(m->kind, m->net, kinds, m->train.ema > 0, &ts) != CLGAN_OK)
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    cJSON *hdr = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", CKPT_FORMAT);
    if (m->kind == MODEL_CLASSIFIER) /* GAN checkpoints stay as they were: no model_kind */
        cJSON_AddStringToObject(meta, "model_kind", "classifier");
    cJSON_AddStringToObject(meta, "run_id", t->run_id[0] ? t->run_id : "0000000000000000");
    cJSON_AddStringToObject(meta, "model_yaml", m->yaml_text ? m->yaml_text : "");
    char *mpath = path_absolute(m->path);
    cJSON_AddStringToObject(meta, "model_path", mpath ? mpath : m->path);
    free(mpath);
    cJSON_AddStringToObject(meta, "data_path",
                            data_is_images(&m->data) && m->data.path ? m->data.path : "");
    cJSON_AddStringToObject(meta, "model_name", m->name);
    cJSON_AddStringToObject(meta, "device", t->dev->info.name);
    char shape[64];
    snprintf(shape, sizeof shape, "%d,%d,%d", m->data.shape.c, m->data.shape.h, m->data.shape.w);
    cJSON_AddStringToObject(meta, "data_shape", shape);
    if (m->kind == MODEL_GAN) meta_u64(meta, "noise_dim", (uint64_t)m->noise.dim);
    if (m->kind == MODEL_CLASSIFIER) meta_u64(meta, "classes", (uint64_t)m->classes);
    if (m->train.pack > 1) meta_u64(meta, "pack", (uint64_t)m->train.pack);
    if (m->condition_classes > 0)
        meta_u64(meta, "condition_classes", (uint64_t)m->condition_classes);
    double lr_scale = t->opt[ws[0]].lr_scale;
    if (lr_scale != 1) { /* --on-nan rollback halved the rates: a resume goes on with them */
        char v[40];
        snprintf(v, sizeof v, "%.17g", lr_scale);
        cJSON_AddStringToObject(meta, "lr_scale", v);
    }
    if (m->train.augment.target > 0) { /* ADA: p and the sums since its last adjustment */
        char v[96];
        snprintf(v, sizeof v, "%.9g,%.9g,%.9g", ada[0], ada[1], ada[2]);
        cJSON_AddStringToObject(meta, "augment_adaptive", v);
    }
    if (m->train.ema > 0) { /* only then: earlier checkpoints stay as they were */
        char ema[32];
        snprintf(ema, sizeof ema, "%.9g", m->train.ema);
        cJSON_AddStringToObject(meta, "ema", ema);
    }
    for (int i = 0; i < nw; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s_layers", model_net_name(ws[i]));
        meta_json(meta, key, layers_json(&m->net[ws[i]]));
    }
    meta_json(meta, "optimizer_states", states_json(m));
    meta_u64(meta, "seed", m->train.seed);
    meta_u64(meta, "k", (uint64_t)m->train.k);
    meta_u64(meta, "batches_per_epoch", (uint64_t)t->batches_per_epoch);
    meta_u64(meta, "iter", t->iter);
    meta_u64(meta, "epoch", (uint64_t)t->epoch);
    meta_u64(meta, "batch_in_epoch", (uint64_t)t->batch_in_epoch);
    meta_u64(meta, "stream", t->stream);
    for (int i = 0; i < nw; i++) {
        char key[64];
        snprintf(key, sizeof key, "optimizer_steps.%s", model_net_name(ws[i]));
        meta_u64(meta, key, t->opt[ws[i]].t);
    }
    cJSON_AddItemToObject(hdr, "__metadata__", meta);
    size_t data_len = 0;
    for (int i = 0; i < ts.n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *sh = cJSON_CreateArray();
        for (int d = 0; d < ts.v[i].ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ts.v[i].shape[d]));
        cJSON_AddItemToObject(o, "shape", sh);
        cJSON *offs = cJSON_CreateArray();
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)data_len));
        data_len += ts.v[i].count * sizeof(float);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)data_len));
        cJSON_AddItemToObject(o, "data_offsets", offs);
        cJSON_AddItemToObject(hdr, ts.v[i].name, o);
    }
    char *json = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    if (!json) {
        tensor_list_free(&ts);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8; /* data 8-byte aligned */
    size_t total = 8 + padded + data_len;
    unsigned char *buf = malloc(total);
    if (!buf) {
        cJSON_free(json);
        tensor_list_free(&ts);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, total);
    }
    uint64_t hl = padded;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i)); /* little-endian */
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', padded - jlen);
    cJSON_free(json);
    size_t pos = 8 + padded;
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < ts.n && st == CLGAN_OK; i++) {
        const tensor_ref *r = &ts.v[i];
        net *n = trainer_net(t, r->net);
        cl_mem src = r->ema         ? t->ema
                     : r->state < 0 ? n->params
                                    : optim_state_buf(&t->opt[r->net], r->state);
        st = device_read(t->dev, src, n->layers[r->layer].param_off[r->param] * sizeof(float),
                         r->count * sizeof(float), buf + pos);
        if (st != CLGAN_OK) {
            err_set(e, st, "%s: reading the device: %s", path, t->dev->err.msg);
        } else if (!floats_finite((const float *)(buf + pos), r->count)) {
            /* a file every reader refuses is not written (the old one stays) */
            st = err_set(e, CLGAN_ERR_DATA, "%s: not written: tensor '%s' holds NaN or Inf",
                         path, r->name);
        }
        pos += r->count * sizeof(float);
    }
    tensor_list_free(&ts);
    if (st != CLGAN_OK) {
        free(buf);
        return st;
    }
    st = file_write_atomic(path, buf, total, e);
    free(buf);
    return st;
}

/* ---- reading: the header's bytes ----------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/*
 * The lexical rules both readers enforce before parsing (a subset of strict JSON on which cJSON
 * and Python's json module agree): valid UTF-8; outside strings no control byte but tab, LF and
 * CR; inside strings no control byte at all and no \u escape of NUL or of a surrogate; numbers
 * as RFC 8259 writes them, at most CKPT_MAX_NUMBER_CHARS long. NULL if the bytes pass, else why.
 */
static const char *lex_check(const unsigned char *s, size_t n, size_t *at) {
    int in_str = 0;
    for (size_t i = 0; i < n;) {
        *at = i;
        size_t ul = utf8_len(s + i, n - i);
        if (ul == 0) return "is not valid UTF-8";
        unsigned c = s[i];
        if (in_str) {
            if (c < 0x20) return "has a control character inside a string";
            if (c == '"') in_str = 0;
            if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u') {
                    if (i + 6 > n) return "has a truncated \\u escape";
                    unsigned v = 0;
                    for (int k = 2; k < 6; k++) {
                        unsigned h = s[i + k];
                        int d = h >= '0' && h <= '9'   ? (int)(h - '0')
                                : h >= 'a' && h <= 'f' ? (int)(h - 'a' + 10)
                                : h >= 'A' && h <= 'F' ? (int)(h - 'A' + 10)
                                                       : -1;
                        if (d < 0) return "has a malformed \\u escape";
                        v = v << 4 | (unsigned)d;
                    }
                    if (v == 0) return "has a \\u0000 escape in a string";
                    if (v >= 0xd800 && v <= 0xdfff) return "has a surrogate \\u escape";
                    i += 6;
                    continue;
                }
                i += 2;
                continue;
            }
            i += ul;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            i++;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return "has a control character outside strings";
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            if (s[j] == '-') j++;
            if (j >= n || !(s[j] >= '0' && s[j] <= '9')) return "has a malformed number";
            if (s[j] == '0') {
                j++;
            } else {
                while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            }
            if (j < n && s[j] == '.') {
                j++;
                if (j >= n || !(s[j] >= '0' && s[j] <= '9')) return "has a malformed number";
                while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                j++;
                if (j < n && (s[j] == '+' || s[j] == '-')) j++;
                if (j >= n || !(s[j] >= '0' && s[j] <= '9')) return "has a malformed number";
                while (j < n && s[j] >= '0' && s[j] <= '9') j++;
            }
            if (j < n && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == 'e' ||
                          s[j] == 'E' || s[j] == '+' || s[j] == '-'))
                return "has a malformed number";
            if (j - i > CKPT_MAX_NUMBER_CHARS) return "has a number of over 32 characters";
            i = j;
            continue;
        }
        i += ul;
    }
    return NULL;
}

static int cmp_key(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * The first key (in sorted order) that appears twice in any object of the tree, or NULL;
 * n log n in the keys of each object, so a crafted header of 10^5 tensors costs milliseconds.
 * *nomem is set if the sort buffer could not be had.
 */
static const char *duplicate_key_of(const cJSON *o, int *nomem) {
    if (!o) return NULL;
    if (cJSON_IsObject(o) && o->child && o->child->next) {
        size_t n = 0;
        for (const cJSON *a = o->child; a; a = a->next) n++;
        const char **keys = malloc(n * sizeof *keys);
        if (!keys) {
            *nomem = 1;
            return NULL;
        }
        n = 0;
        for (const cJSON *a = o->child; a; a = a->next) keys[n++] = a->string;
        qsort(keys, n, sizeof *keys, cmp_key);
        const char *dup = NULL;
        for (size_t i = 1; i < n && !dup; i++)
            if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
        free(keys);
        if (dup) return dup;
    }
    for (const cJSON *k = o->child; k; k = k->next) {
        const char *d = duplicate_key_of(k, nomem);
        if (d || *nomem) return d;
    }
    return NULL;
}

static const char *duplicate_key(const cJSON *o) {
    int nomem = 0;
    const char *d = duplicate_key_of(o, &nomem);
    return nomem ? "(out of memory while checking)" : d;
}

/* An integral JSON number in [lo, hi] into *v; 0 if it is not one. */
static int json_int(const cJSON *j, double lo, double hi, long *v) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= lo && d <= hi) || d != (double)(long)d) return 0; /* range first: no UB */
    *v = (long)d;
    return 1;
}

/* ---- reading: the metadata ---------------------------------------------------------------- */

/* A metadata string holding JSON, parsed under the same lexical rules as the header. */
static cJSON *meta_json_parse(const ckpt *c, const char *key) {
    const char *s = ckpt_meta(c, key);
    size_t at;
    if (!s || lex_check((const unsigned char *)s, strlen(s), &at)) return NULL;
    return cJSON_ParseWithOpts(s, NULL, 1); /* the whole string: nothing after the value */
}

/* A canonical decimal (no sign, no leading zero, no blank) of at most max into *v. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *v) {
    if (!s || !*s || (s[0] == '0' && s[1])) return 0;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        unsigned d = (unsigned)(*p - '0');
        if (x > (max - d) / 10) return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* The layers declared in metadata `key` as layer specs (kinds and shapes' settings only). */
static clgan_status layers_from_meta(const ckpt *c, const char *key, net_spec *ns, clgan_err *e) {
    memset(ns, 0, sizeof *ns);
    cJSON *arr = meta_json_parse(c, key);
    clgan_status st = CLGAN_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > 100000) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' is not a JSON list of layers", c->path,
                     key);
        goto done;
    }
    ns->n_layers = cJSON_GetArraySize(arr);
    ns->layers = calloc((size_t)ns->n_layers, sizeof *ns->layers);
    if (!ns->layers) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *dup = duplicate_key(arr);
    if (dup) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' has the key '%s' twice in a layer",
                     c->path, key, dup);
        goto done;
    }
    int i = 0;
    for (cJSON *o = arr->child; o; o = o->next, i++) {
        layer_spec *L = &ns->layers[i];
        cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        int kind = cJSON_IsString(type) ? layer_kind_from_name(type->valuestring) : -1;
        if (!cJSON_IsObject(o) || kind < 0) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s': layer %d has no known type",
                         c->path, key, i);
            goto done;
        }
        L->kind = (layer_kind)kind;
        /* a graph's: the layer's path and the layers it reads (before it) */
        const layer_class *cls = layer_class_of(L->kind);
        int n_want = 0, ok = 1;
        L->n_in = 1;
        L->in_idx[0] = i - 1;
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (nm) {
            n_want++;
            ok = cJSON_IsString(nm) && strlen(nm->valuestring) > 0 &&
                 !(nm->valuestring[0] >= '0' && nm->valuestring[0] <= '9') &&
                 strlen(nm->valuestring) < LAYER_PATH_MAX &&
                 strspn(nm->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_.#") == strlen(nm->valuestring);
            if (ok) snprintf(L->path, sizeof L->path, "%s", nm->valuestring);
        }
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(o, "from");
        if (from) {
            n_want++;
            int nf = cJSON_IsArray(from) ? cJSON_GetArraySize(from) : 0;
            int max_in = cls->max_inputs > 1 ? cls->max_inputs : 1;
            ok = ok && nf >= (cls->min_inputs > 1 ? cls->min_inputs : 1) && nf <= max_in;
            int k = 0;
            for (const cJSON *x = ok ? from->child : NULL; x; x = x->next, k++) {
                ok = ok && cJSON_IsNumber(x) && x->valuedouble >= -1 && x->valuedouble < i &&
                     x->valuedouble == (int)x->valuedouble;
                if (ok) L->in_idx[k] = (int)x->valuedouble;
            }
            if (ok) L->n_in = nf;
        } else {
            ok = ok && cls->min_inputs <= 1;
        }
        if (!ok) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s': layer %d (%s) has a bad 'name' "
                         "(a path of letters, digits, '_', '.', '#') or 'from' (the indices of "
                         "%s layers before it)", c->path, key, i, type->valuestring,
                         cls->min_inputs > 1 ? "2 or more" : "one of the");
            goto done;
        }
        char names[256] = "";
        size_t used = 0;
        for (int k = 0; k < cls->n_keys; k++) {
            const layer_key *lk = &cls->keys[k];
            if (!recorded(lk)) continue;
            const cJSON *x0 = cJSON_GetObjectItemCaseSensitive(o, lk->name);
            if ((lk->flags & KEY_SPARSE) && !x0) { /* absent: its default */
                for (int j = 0; j < key_values(lk->type); j++) L->v[lk->slot + j] = lk->def;
                continue;
            }
            n_want++;
            if (used < sizeof names)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                         used ? ", " : "", lk->name);
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, lk->name);
            ok = ok && key_from_json(lk, x, &L->v[lk->slot]);
        }
        if (!ok || cJSON_GetArraySize(o) != 1 + n_want) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s': layer %d (%s) needs exactly %s "
                         "within range", c->path, key, i, type->valuestring,
                         n_want ? names : "no settings");
            goto done;
        }
    }
done:
    cJSON_Delete(arr);
    if (st != CLGAN_OK) {
        free(ns->layers);
        ns->layers = NULL;
    }
    return st;
}

/*
 * Everything about the metadata that needs no model file: counters, shapes, the declared layers
 * and optimizer states, and so the exact list of tensors (into *want).
 */
static clgan_status check_metadata(ckpt *c, net_spec nets[MODEL_NETS],
                                   optim_kind kinds[MODEL_NETS], tensor_list *want,
                                   clgan_err *e) {
    static const struct {
        const char *key;
        uint64_t max;
        size_t off;
    } counters[] = {
        {"seed", UINT64_MAX, offsetof(ckpt_counters, seed)},
        {"k", 100, offsetof(ckpt_counters, k)},
        {"batches_per_epoch", 1ULL << 31, offsetof(ckpt_counters, batches_per_epoch)},
        {"iter", CKPT_MAX_COUNTER, offsetof(ckpt_counters, iter)},
        {"epoch", CKPT_MAX_COUNTER, offsetof(ckpt_counters, epoch)},
        {"batch_in_epoch", CKPT_MAX_COUNTER, offsetof(ckpt_counters, batch_in_epoch)},
        {"stream", CKPT_MAX_COUNTER, offsetof(ckpt_counters, stream)},
    };
    /* the kind: a GAN's checkpoints have no model_kind (as before classifiers existed) */
    const char *kind_s = ckpt_meta(c, "model_kind");
    if (kind_s && strcmp(kind_s, "classifier") != 0)
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'model_kind' is '%.40s', expected "
                       "'classifier' (or none, for a GAN)", c->path, kind_s);
    c->kind = kind_s ? MODEL_CLASSIFIER : MODEL_GAN;
    clgan_net ws[MODEL_NETS];
    int nw = model_kind_nets(c->kind, ws);
    static const char *const strings[] = {"run_id", "model_yaml", "model_path", "data_path",
                                          "model_name", "device", "data_shape",
                                          "optimizer_states"};
    for (size_t i = 0; i < ARRAY_LEN(strings); i++)
        if (!ckpt_meta(c, strings[i]))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata lacks '%s'", c->path, strings[i]);
    const char *own = c->kind == MODEL_GAN ? "noise_dim" : "classes";
    if (!ckpt_meta(c, own))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata lacks '%s'", c->path, own);
    for (int i = 0; i < nw; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s_layers", model_net_name(ws[i]));
        if (!ckpt_meta(c, key))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata lacks '%s'", c->path, key);
        snprintf(key, sizeof key, "optimizer_steps.%s", model_net_name(ws[i]));
        const char *v = ckpt_meta(c, key);
        if (!parse_decimal(v, CKPT_MAX_COUNTER, &c->n.steps[ws[i]]))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' is %s%.40s%s, expected a whole "
                           "number from 0 to %" PRIu64, c->path, key, v ? "'" : "missing",
                           v ? v : "", v ? "'" : "", (uint64_t)CKPT_MAX_COUNTER);
    }
    for (size_t i = 0; i < ARRAY_LEN(counters); i++) {
        const char *s = ckpt_meta(c, counters[i].key);
        if (!parse_decimal(s, counters[i].max,
                           (uint64_t *)((char *)&c->n + counters[i].off)))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' is %s%.40s%s, expected a whole "
                           "number from 0 to %" PRIu64, c->path, counters[i].key,
                           s ? "'" : "missing", s ? s : "", s ? "'" : "", counters[i].max);
    }
    const ckpt_counters *n = &c->n;
    if (n->k < 1 || n->batches_per_epoch < 1 || (c->kind == MODEL_CLASSIFIER && n->k != 1))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'k' and 'batches_per_epoch' must be at "
                       "least 1 (k exactly 1 for a classifier)", c->path);
    /* D steps so far: every one took the next minibatch; an epoch wraps at the next D step.
     * A classifier's steps are its D steps here (k = 1). */
    uint64_t d_steps = n->iter * n->k, bpe = n->batches_per_epoch;
    uint64_t want_epoch = d_steps ? (d_steps - 1) / bpe : 0;
    uint64_t want_bie = d_steps ? (d_steps - 1) % bpe + 1 : 0;
    int gan = c->kind == MODEL_GAN;
    uint64_t s_first = n->steps[gan ? CLGAN_GENERATOR : CLGAN_CLASSIFIER],
             s_d = gan ? n->steps[CLGAN_DISCRIMINATOR] : d_steps;
    if (c->kind == MODEL_CLASSIFIER && (n->epoch != want_epoch || n->batch_in_epoch != want_bie ||
                                        s_first != n->iter))
        return err_set(e, CLGAN_ERR_DATA, "%s: counters disagree: step %" PRIu64 " on %" PRIu64
                       " batches per epoch is epoch %" PRIu64 ", batch %" PRIu64 " and %" PRIu64
                       " optimizer steps; the metadata say epoch %" PRIu64 ", batch %" PRIu64
                       " and %" PRIu64, c->path, n->iter, bpe, want_epoch, want_bie, n->iter,
                       n->epoch, n->batch_in_epoch, s_first);
    if (n->epoch != want_epoch || n->batch_in_epoch != want_bie || s_first != n->iter ||
        s_d != d_steps)
        return err_set(e, CLGAN_ERR_DATA, "%s: counters disagree: iteration %" PRIu64 " with k %"
                       PRIu64 " and %" PRIu64 " batches per epoch is epoch %" PRIu64 ", batch %"
                       PRIu64 ", %" PRIu64 " generator and %" PRIu64 " discriminator steps; the "
                       "metadata say epoch %" PRIu64 ", batch %" PRIu64 ", %" PRIu64 " and %"
                       PRIu64, c->path, n->iter, n->k, bpe, want_epoch, want_bie, n->iter, d_steps,
                       n->epoch, n->batch_in_epoch, s_first, s_d);
    const char *rid = ckpt_meta(c, "run_id");
    if (strlen(rid) != 16 || strspn(rid, "0123456789abcdef") != 16)
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'run_id' is not 16 hex digits", c->path);
    memcpy(c->run_id, rid, 17);
    if (!ckpt_meta(c, "model_yaml")[0])
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'model_yaml' is empty", c->path);
    /* data_shape "C,H,W" and noise_dim (a GAN's) or classes (a classifier's) */
    const char *ds = ckpt_meta(c, "data_shape");
    uint64_t dim[3], noise = 1, classes = 2;
    const char *p = ds;
    for (int i = 0; i < 3; i++) {
        const char *end = strchr(p, ',');
        size_t len = end && i < 2 ? (size_t)(end - p) : strlen(p);
        char part[24];
        if (len == 0 || len >= sizeof part || (i < 2 && !end)) goto bad_shape;
        memcpy(part, p, len);
        part[len] = '\0';
        if (!parse_decimal(part, 1 << 16, &dim[i]) || dim[i] < 1) goto bad_shape;
        p += len + (i < 2);
    }
    if (dim[0] * dim[1] * dim[2] > (1u << 24)) goto bad_shape;
    if (gan && (!parse_decimal(ckpt_meta(c, "noise_dim"), 1 << 20, &noise) || noise < 1))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'noise_dim' is not a whole number from 1 "
                       "to %d", c->path, 1 << 20);
    if (!gan && (!parse_decimal(ckpt_meta(c, "classes"), 256, &classes) || classes < 2))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'classes' is not a whole number from 2 "
                       "to 256", c->path);
    /* the declared layers, their shapes from the noise and data sizes */
    clgan_model shell;
    memset(&shell, 0, sizeof shell);
    shell.path = c->path;
    uint64_t cond = 0; /* the label input's classes (layers that read labels need them) */
    const char *cc = ckpt_meta(c, "condition_classes");
    if (cc && (!parse_decimal(cc, 256, &cond) || cond < 2 || !gan))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'condition_classes' is '%.40s', "
                       "expected a whole number from 2 to 256 of a GAN", c->path, cc);
    shell.condition_classes = (int)cond;
    c->condition_classes = (int)cond;
    shape3 data = {(int)dim[0], (int)dim[1], (int)dim[2], 0};
    uint64_t pack = 1; /* PacGAN: D's input is pack samples joined along channels */
    const char *pk = ckpt_meta(c, "pack");
    if (pk && (!parse_decimal(pk, 64, &pack) || pack < 2 || !gan))
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'pack' is '%.40s', expected a whole "
                       "number from 2 to 64 of a GAN", c->path, pk);
    c->pack = (int)pack;
    for (int i = 0; i < nw; i++) {
        clgan_net w = ws[i];
        char key[64];
        snprintf(key, sizeof key, "%s_layers", model_net_name(w));
        clgan_status st = layers_from_meta(c, key, &nets[w], e);
        if (st != CLGAN_OK) return st;
        nets[w].in = w == CLGAN_GENERATOR ? (shape3){(int)noise, 1, 1, 0} : data;
        if (w == CLGAN_DISCRIMINATOR) nets[w].in.c *= (int)pack;
        long out = w == CLGAN_GENERATOR ? shape_size(data)
                   : w == CLGAN_DISCRIMINATOR ? 1 : (long)classes;
        if (net_infer(&shell, &nets[w], model_net_name(w)) != CLGAN_OK)
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s': %s", c->path, key,
                           shell.err.msg);
        if (shape_size(nets[w].out) != out)
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' end in %ld values per sample, "
                           "expected %ld", c->path, key, (long)shape_size(nets[w].out), out);
    }
    /* optimizer states: {"<net>": [...], ...}, a known optimizer's, for each network */
    cJSON *os = meta_json_parse(c, "optimizer_states");
    int ok = cJSON_IsObject(os) && cJSON_GetArraySize(os) == nw && !duplicate_key(os);
    for (int i = 0; ok && i < nw; i++) {
        clgan_net w = ws[i];
        cJSON *list = cJSON_GetObjectItemCaseSensitive(os, model_net_name(w));
        ok = 0;
        for (int k = 0; k <= OPTIM_RMSPROP && !ok; k++) {
            const char *const *names;
            int cnt = optim_states_of((optim_kind)k, &names);
            int same = cJSON_IsArray(list) && cJSON_GetArraySize(list) == cnt;
            for (int s = 0; same && s < cnt; s++) {
                cJSON *it = cJSON_GetArrayItem(list, s);
                same = cJSON_IsString(it) && strcmp(it->valuestring, names[s]) == 0;
            }
            if (same) {
                kinds[w] = (optim_kind)k;
                ok = 1;
            }
        }
    }
    cJSON_Delete(os);
    if (!ok)
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'optimizer_states' is not %s of a known "
                       "optimizer's states", c->path,
                       gan ? "{\"generator\": [...], \"discriminator\": [...]}"
                           : "{\"classifier\": [...]}");
    const char *lrs = ckpt_meta(c, "lr_scale");
    c->lr_scale = 1;
    if (lrs) {
        char *end;
        double v = strtod(lrs, &end);
        if (end == lrs || *end || !(v > 0 && v <= 1))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'lr_scale' is '%.40s', expected a "
                           "factor in (0, 1] of the learning rates", c->path, lrs);
        c->lr_scale = v;
    }
    const char *ema = ckpt_meta(c, "ema");
    c->ema = 0;
    if (ema) {
        char *end;
        double v = strtod(ema, &end);
        if (end == ema || *end || !(v > 0 && v < 1) || c->kind != MODEL_GAN)
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'ema' is '%.40s', expected a decay "
                           "in (0, 1) of a GAN's generator", c->path, ema);
        c->ema = (float)v;
    }
    if (expected_tensors(c->kind, nets, kinds, c->ema > 0, want) != CLGAN_OK)
        return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    return CLGAN_OK;
bad_shape:
    return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'data_shape' is '%.40s', expected C,H,W: "
                   "whole numbers from 1 to 65536 with a product of at most 2^24", c->path, ds);
}

/* ---- reading: the whole file -------------------------------------------------------------- */

typedef struct range {
    size_t a, b;
    const char *name;
} range;

static int cmp_range(const void *x, const void *y) {
    const range *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

void ckpt_close(ckpt *c) {
    if (c->header) cJSON_Delete(c->header);
    clgan_model_free(c->model);
    free(c->bytes);
    free(c->path);
    memset(c, 0, sizeof *c);
}

/* The tensor entries: dtype, shape, offsets; tiling the data exactly; the wanted set. */
static clgan_status check_tensors(ckpt *c, const tensor_list *want, clgan_err *e) {
    const char *path = c->path;
    cJSON *h = c->header;
    size_t data_len = c->len - c->data_start;
    int nt = cJSON_GetArraySize(h), k = 0;
    /* no more entries than the declared layers have tensors, before any work per entry */
    if (nt - 1 > want->n)
        return err_set(e, CLGAN_ERR_DATA, "%s: the header declares %d tensors; the layers its "
                       "metadata declare have %d", path, nt - 1, want->n);
    range *rs = calloc((size_t)nt + 1, sizeof *rs);
    if (!rs) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    clgan_status st = CLGAN_OK;
    for (cJSON *it = h->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) continue;
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) != 3 || !cJSON_IsString(dt) ||
            !cJSON_IsArray(sh) || !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' is not {dtype, shape, data_offsets "
                         "[begin, end]}", path, it->string);
            goto done;
        }
        if (strcmp(dt->valuestring, "F32") != 0) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' has dtype %s, expected F32", path,
                         it->string, dt->valuestring);
            goto done;
        }
        double count = 1;
        long d;
        if (cJSON_GetArraySize(sh) > 4) goto bad_shape;
        for (cJSON *x = sh->child; x; x = x->next) {
            if (!json_int(x, 0, (double)CKPT_MAX_DIM, &d)) goto bad_shape;
            count *= (double)d;
        }
        long a, b;
        if (!json_int(cJSON_GetArrayItem(of, 0), 0, (double)data_len, &a) ||
            !json_int(cJSON_GetArrayItem(of, 1), 0, (double)data_len, &b) || b < a) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' data_offsets are not [begin, end] "
                         "within the %zu data bytes", path, it->string, data_len);
            goto done;
        }
        if ((double)(b - a) != count * 4) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' spans %ld bytes but its shape needs "
                         "%.0f", path, it->string, b - a, count * 4);
            goto done;
        }
        rs[k++] = (range){(size_t)a, (size_t)b, it->string};
        continue;
    bad_shape:
        st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' has a malformed shape", path, it->string);
        goto done;
    }
    /* the tensors tile the data section: no gap (misaligned data), no overlap, nothing after */
    qsort(rs, (size_t)k, sizeof *rs, cmp_range);
    size_t end = 0;
    for (int i = 0; i < k; i++) {
        if (rs[i].a != end) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' starts at byte %zu of the data, "
                         "expected %zu: tensors %s", path, rs[i].name, rs[i].a, end,
                         rs[i].a < end ? "overlap" : "leave a gap");
            goto done;
        }
        end = rs[i].b;
    }
    if (end != data_len) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: %zu bytes after the last tensor", path,
                     data_len - end);
        goto done;
    }
    /* exactly the tensors of the declared layers, with exactly their shapes (every one there,
     * no key twice and no more entries than they: no other) */
    for (int i = 0; i < want->n; i++) {
        const tensor_ref *r = &want->v[i];
        cJSON *t = cJSON_GetObjectItemCaseSensitive(h, r->name);
        if (!t) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: no tensor '%s' (the layers declare it)", path,
                         r->name);
            goto done;
        }
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
        int same = cJSON_GetArraySize(sh) == r->ndim;
        for (int j = 0; same && j < r->ndim; j++)
            same = cJSON_GetArrayItem(sh, j)->valuedouble == (double)r->shape[j];
        if (!same) {
            char want_s[64];
            snprintf(want_s, sizeof want_s, r->ndim == 2 ? "[%ld, %ld]" : "[%ld]", r->shape[0],
                     r->shape[1]);
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' has another shape than the %s its "
                         "layer declares", path, r->name, want_s);
            goto done;
        }
    }
done:
    free(rs);
    return st;
}

/*
 * The values: every one finite, and running variances not negative. A run never saves a
 * non-finite state (its NaN guard stops it first), so such a file is damaged or crafted; loaded,
 * a NaN that a ReLU turns into 0 would train or measure on without a word.
 */
static clgan_status check_values(const ckpt *c, const tensor_list *want, clgan_err *e) {
    for (int i = 0; i < want->n; i++) {
        const tensor_ref *r = &want->v[i];
        const float *v;
        clgan_status st = ckpt_tensor(c, r->name, r->count, &v, e);
        if (st != CLGAN_OK) return st;
        size_t len = strlen(r->name), vl = strlen(".running_var");
        int var = r->state < 0 && len > vl && strcmp(r->name + len - vl, ".running_var") == 0;
        for (size_t j = 0; j < r->count; j++) {
            float x = v[j]; /* 4-aligned: checked at open */
            if (!isfinite(x))
                return err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' holds %s at value %zu of %zu: "
                               "a checkpoint holds finite numbers only", c->path, r->name,
                               isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf", j, r->count);
            if (var && x < 0)
                return err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' holds the negative variance "
                               "%g at value %zu of %zu", c->path, r->name, (double)x, j,
                               r->count);
        }
    }
    return CLGAN_OK;
}

/* The model of model_yaml must declare what the metadata declare (checked by clgan only). */
static clgan_status check_model(ckpt *c, const net_spec nets[MODEL_NETS],
                                const optim_kind kinds[MODEL_NETS], clgan_err *e) {
    const char *text = ckpt_meta(c, "model_yaml");
    shape3 s;
    sscanf(ckpt_meta(c, "data_shape"), "%d,%d,%d", &s.c, &s.h, &s.w); /* checked above */
    clgan_status st = model_load_text(ckpt_meta(c, "model_path"), text, strlen(text), &s,
                                      &c->model);
    if (st != CLGAN_OK)
        return err_set(e, st, "%s: the model in its metadata: %s", c->path,
                       c->model ? c->model->err.msg : "out of memory");
    clgan_model *m = c->model;
    const char *what = NULL;
    char key[64];
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(m, ws);
    if (m->kind != c->kind) what = "model_kind";
    for (int i = 0; !what && i < nw; i++) {
        snprintf(key, sizeof key, "%s_layers", model_net_name(ws[i]));
        if (!same_layers(&m->net[ws[i]], &nets[ws[i]])) what = key;
        else if (m->train.opt[ws[i]].kind != kinds[ws[i]]) what = "optimizer_states";
    }
    if (what) {
    } else if (m->kind == MODEL_GAN && m->noise.dim != nets[CLGAN_GENERATOR].in.c) {
        what = "noise_dim";
    } else if ((uint64_t)m->train.k != c->n.k) {
        what = "k";
    } else if (m->train.ema != c->ema) {
        what = "ema";
    } else if (m->kind == MODEL_GAN && m->train.pack != c->pack) {
        what = "pack";
    } else if (m->condition_classes != c->condition_classes) {
        what = "condition_classes";
    }
    if (what)
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' disagree with the model in "
                       "model_yaml", c->path, what);
    /* the data as the run saw them: an absolute path, whatever the working directory is now */
    const char *dp = ckpt_meta(c, "data_path");
    if (data_is_images(&m->data) && dp[0]) {
        free(m->data.path);
        m->data.path = str_dup(dp);
        if (!m->data.path) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    }
    return CLGAN_OK;
}

clgan_status ckpt_open(const char *path, ckpt *c, clgan_err *e) {
    memset(c, 0, sizeof *c);
    net_spec nets[MODEL_NETS];
    memset(nets, 0, sizeof nets);
    optim_kind kinds[MODEL_NETS] = {OPTIM_SGD, OPTIM_SGD, OPTIM_SGD};
    tensor_list want = {0};
    c->path = str_dup(path);
    if (!c->path) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    char *data;
    size_t len;
    clgan_status st = file_read_all(path, SIZE_MAX, &data, &len, e);
    if (st != CLGAN_OK) goto fail;
    c->bytes = (unsigned char *)data;
    c->len = len;
    if (len < 8) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: truncated checkpoint (%zu bytes, no header length)",
                     path, len);
        goto fail;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | c->bytes[i];
    if (hl > CKPT_MAX_HEADER || hl > len - 8) {
        st = err_set(e, CLGAN_ERR_DATA,
                     "%s: header length %" PRIu64 " is beyond the file's %zu bytes", path, hl, len);
        goto fail;
    }
    if (hl % 8 != 0) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: header length %" PRIu64 " is not a multiple of 8: "
                     "the tensors' data would be misaligned", path, hl);
        goto fail;
    }
    c->data_start = 8 + (size_t)hl;
    const unsigned char *hb = c->bytes + 8;
    size_t at = 0;
    const char *why = hl > 0 && hb[0] == '{' ? lex_check(hb, (size_t)hl, &at)
                                             : "does not start with '{'";
    if (why) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: the JSON header %s (byte %zu)", path, why, 8 + at);
        goto fail;
    }
    const char *end = NULL;
    c->header = cJSON_ParseWithLengthOpts((const char *)hb, (size_t)hl, &end, 0);
    cJSON *h = c->header;
    if (!h || !cJSON_IsObject(h)) {
        size_t pos = end ? (size_t)(end - (const char *)c->bytes) : 8;
        st = err_set(e, CLGAN_ERR_DATA, "%s: malformed JSON header (near byte %zu)", path, pos);
        goto fail;
    }
    for (const unsigned char *p = (const unsigned char *)end; p < hb + hl; p++)
        if (*p != ' ') {
            st = err_set(e, CLGAN_ERR_DATA, "%s: trailing bytes after the JSON header (byte %zu; "
                         "only spaces may pad it)", path, (size_t)(p - c->bytes));
            goto fail;
        }
    int nomem = 0;
    const char *dup = duplicate_key_of(h, &nomem);
    if (nomem) {
        st = err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (dup) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: the JSON header has the key '%s' twice", path, dup);
        goto fail;
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    if (!cJSON_IsObject(meta)) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: not a clgan checkpoint (no __metadata__)", path);
        goto fail;
    }
    for (cJSON *mv = meta->child; mv; mv = mv->next)
        if (!cJSON_IsString(mv)) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' is not a string", path, mv->string);
            goto fail;
        }
    const char *fmt = ckpt_meta(c, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        if (fmt && strcmp(fmt, "clgan-checkpoint-1") == 0)
            st = err_set(e, CLGAN_ERR_DATA, "%s: a checkpoint of an earlier clgan (format "
                         "clgan-checkpoint-1, which did not record its layers for other readers); "
                         "this clgan reads " CKPT_FORMAT, path);
        else
            st = err_set(e, CLGAN_ERR_DATA, "%s: not a clgan checkpoint (metadata format is "
                         "%s%.40s%s)", path, fmt ? "'" : "missing", fmt ? fmt : "", fmt ? "'" : "");
        goto fail;
    }
    st = check_metadata(c, nets, kinds, &want, e);
    if (st == CLGAN_OK) st = check_tensors(c, &want, e);
    if (st == CLGAN_OK) st = check_values(c, &want, e);
    if (st == CLGAN_OK) st = check_model(c, nets, kinds, e);
    if (st != CLGAN_OK) goto fail;
    for (int w = 0; w < MODEL_NETS; w++) free(nets[w].layers);
    tensor_list_free(&want);
    return CLGAN_OK;
fail:
    for (int w = 0; w < MODEL_NETS; w++) free(nets[w].layers);
    tensor_list_free(&want);
    ckpt_close(c);
    return st;
}

const char *ckpt_meta(const ckpt *c, const char *key) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(c->header, "__metadata__");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const clgan_model *ckpt_model(const ckpt *c) {
    return c->model;
}

clgan_status ckpt_tensor(const ckpt *c, const char *name, size_t count, const float **data,
                         clgan_err *e) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(c->header, name);
    if (!t) return err_set(e, CLGAN_ERR_DATA, "%s: no tensor '%s' (a checkpoint of another model?)",
                           c->path, name);
    cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    size_t a = (size_t)cJSON_GetArrayItem(of, 0)->valuedouble;
    size_t b = (size_t)cJSON_GetArrayItem(of, 1)->valuedouble;
    if (b - a != count * sizeof(float))
        return err_set(e, CLGAN_ERR_DATA,
                       "%s: tensor '%s' holds %zu values, the model needs %zu (a checkpoint of "
                       "another model?)", c->path, name, (b - a) / 4, count);
    *data = (const float *)(c->bytes + c->data_start + a); /* 4-aligned: checked at open */
    return CLGAN_OK;
}

/* A network's parameters from c (ema: the averaged ones) into dst (n's layout), and its
 * optimizer's state if o is not NULL. */
static clgan_status load_net(const ckpt *c, net *n, optim *o, int ema, cl_mem dst, clgan_err *e) {
    int ns = o ? optim_state_count(o) : 0;
    float *p = calloc(n->n_params, sizeof *p);
    float *s[2] = {NULL, NULL};
    for (int i = 0; i < ns; i++) s[i] = calloc(n->n_params, sizeof(float));
    clgan_status st = CLGAN_OK;
    if (!p || (ns > 0 && !s[0]) || (ns > 1 && !s[1])) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n->n_layers && st == CLGAN_OK; i++) {
        const layer *l = &n->layers[i];
        for (int j = 0; j < l->n_params && st == CLGAN_OK; j++) {
            size_t cnt = (size_t)l->params[j].count;
            for (int k = -1; k < (l->params[j].trainable ? ns : 0) && st == CLGAN_OK; k++) {
                char *name = tensor_name(n->index, n->spec, i, l->params[j].name,
                                         k < 0 ? NULL : optim_state_name(o, k));
                if (name && ema) {
                    char *en = str_fmt("ema.%s", name);
                    free(name);
                    name = en;
                }
                const float *src;
                st = name ? ckpt_tensor(c, name, cnt, &src, e)
                          : err_set(e, CLGAN_ERR_NOMEM, "out of memory");
                if (st == CLGAN_OK)
                    memcpy((k < 0 ? p : s[k]) + l->param_off[j], src, cnt * sizeof(float));
                free(name);
            }
        }
    }
    if (st != CLGAN_OK) goto done;
    st = device_write(n->dev, dst, 0, n->n_params * sizeof(float), p, 1);
    for (int k = 0; k < ns && st == CLGAN_OK; k++) /* states of the trainable ones */
        st = device_write(n->dev, optim_state_buf(o, k), 0, n->n_train * sizeof(float), s[k], 1);
    if (st != CLGAN_OK) err_set(e, st, "%s", n->dev->err.msg);
done:
    free(p);
    free(s[0]);
    free(s[1]);
    return st;
}

clgan_status ckpt_load_net(const ckpt *c, net *n, optim *o, clgan_err *e) {
    return load_net(c, n, o, 0, n->params, e);
}

clgan_status ckpt_net(const ckpt *c, clgan_device *dev, clgan_net which, int rows, net **out,
                      clgan_err *e) {
    const clgan_model *m = ckpt_model(c);
    *out = NULL;
    if (m->net[which].n_layers == 0)
        return err_set(e, CLGAN_ERR_ARG, "%s: a checkpoint of a %s, which has no %s", c->path,
                       m->kind == MODEL_CLASSIFIER ? "classifier" : "GAN", model_net_name(which));
    clgan_status st = net_create(dev, m, which, rows, m->train.seed, out);
    if (st != CLGAN_OK) return err_set(e, st, "%s", dev->err.msg);
    /* a generator with averaged weights samples with them */
    st = load_net(c, *out, NULL, which == CLGAN_GENERATOR && c->ema > 0, (*out)->params, e);
    if (st != CLGAN_OK) {
        net_free(*out);
        *out = NULL;
    }
    return st;
}

clgan_status checkpoint_restore(trainer *t, const ckpt *c, clgan_err *e) {
    const char *path = c->path;
    const clgan_model *cm = c->model, *m = t->m;
    clgan_net ws[MODEL_NETS];
    int nw = model_nets(m, ws), same = cm->kind == m->kind && cm->noise.dim == m->noise.dim &&
                                       cm->train.ema == m->train.ema;
    for (int i = 0; same && i < nw; i++)
        same = same_layers(&cm->net[ws[i]], &m->net[ws[i]]) &&
               cm->train.opt[ws[i]].kind == m->train.opt[ws[i]].kind;
    if (!same)
        return err_set(e, CLGAN_ERR_DATA, "%s: a checkpoint of another model (its kind, layers, "
                       "noise or optimizers differ from %s's)", path, m->path);
    if (c->n.k != (uint64_t)m->train.k ||
        c->n.batches_per_epoch != (uint64_t)t->batches_per_epoch)
        return err_set(e, CLGAN_ERR_DATA, "%s: trained with k %" PRIu64 " on epochs of %" PRIu64
                       " batches; %s has k %d and epochs of %ld batches (another data set?)", path,
                       c->n.k, c->n.batches_per_epoch, m->path, m->train.k, t->batches_per_epoch);
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < nw && st == CLGAN_OK; i++)
        st = ckpt_load_net(c, trainer_net(t, ws[i]), &t->opt[ws[i]], e);
    if (st == CLGAN_OK && t->ema) st = load_net(c, t->g, NULL, 1, t->ema, e);
    if (st != CLGAN_OK) return st;
    t->iter = c->n.iter;
    t->epoch = (long)c->n.epoch;
    t->batch_in_epoch = (long)c->n.batch_in_epoch;
    t->stream = c->n.stream;
    for (int i = 0; i < nw; i++) t->opt[ws[i]].t = c->n.steps[ws[i]];
    trainer_set_lr_scale(t, c->lr_scale);
    memcpy(t->run_id, c->run_id, 17);
    const char *ada = ckpt_meta(c, "augment_adaptive");
    if (ada && m->train.augment.target > 0) { /* where the model adapts p now: go on from it */
        float s[3];
        char tail;
        if (sscanf(ada, "%g,%g,%g%c", &s[0], &s[1], &s[2], &tail) != 3 || !(s[0] >= 0 && s[0] <= 1)
            || !isfinite(s[1]) || !(s[2] >= 0))
            return err_set(e, CLGAN_ERR_DATA, "%s: metadata 'augment_adaptive' is '%.60s', "
                           "expected p in [0, 1], the sum of signs and the rows", c->path, ada);
        if ((st = trainer_ada_write(t, s)) != CLGAN_OK)
            return err_set(e, st, "%s", t->dev->err.msg);
    }
    st = trainer_seek(t);
    if (st == CLGAN_OK) st = trainer_sync_replicas(t); /* several devices: all alike */
    if (st != CLGAN_OK) err_set(e, st, "%s", t->dev->err.msg);
    return st;
}

clgan_status checkpoint_load(trainer *t, const char *path, clgan_err *e) {
    ckpt c;
    clgan_status st = ckpt_open(path, &c, e);
    if (st != CLGAN_OK) return st;
    st = checkpoint_restore(t, &c, e);
    ckpt_close(&c);
    return st;
}
