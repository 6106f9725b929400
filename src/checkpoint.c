/*
 * checkpoint.c - safetensors writing and reading; the JSON header goes through cJSON.
 */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_MAX_HEADER (64u << 20)

static const char *const net_names[2] = {"generator", "discriminator"};

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct tensor_out {
    char name[160];
    long shape[2];
    int ndim;
    cl_mem buf;
    size_t off, count; /* floats */
} tensor_out;

static int collect(trainer *t, tensor_out *out, int max) {
    int n = 0;
    for (int w = 0; w < 2; w++) {
        net *nt = w == 0 ? t->g : t->d;
        optim *o = &t->opt[w];
        for (int s = -1; s < optim_state_count(o); s++)
            for (int i = 0; i < nt->n_layers; i++) {
                const layer *l = &nt->layers[i];
                if (l->spec->n_weights == 0) continue;
                for (int part = 0; part < 2 && n < max; part++) {
                    tensor_out *to = &out[n++];
                    const char *pn = part == 0 ? "weight" : "bias";
                    if (s < 0)
                        snprintf(to->name, sizeof to->name, "%s.%d.%s", net_names[w], i, pn);
                    else
                        snprintf(to->name, sizeof to->name, "optimizer.%s.%d.%s.%s",
                                 net_names[w], i, pn, optim_state_name(o, s));
                    to->buf = s < 0 ? nt->params : optim_state_buf(o, s);
                    to->off = part == 0 ? l->w_off : l->b_off;
                    to->count = (size_t)(part == 0 ? l->spec->n_weights : l->spec->n_bias);
                    to->ndim = part == 0 ? 2 : 1;
                    to->shape[0] = l->spec->n_bias;
                    to->shape[1] = (long)l->x.cols;
                }
            }
    }
    return n;
}

static void meta_u64(cJSON *meta, const char *key, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    cJSON_AddStringToObject(meta, key, buf);
}

static char *layers_json(const net_spec *ns) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < ns->n_layers; i++) {
        const layer_spec *L = &ns->layers[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", layer_kind_name(L->kind));
        if (L->kind == LAYER_DENSE || L->kind == LAYER_MAXOUT)
            cJSON_AddNumberToObject(o, "units", L->units);
        if (L->kind == LAYER_MAXOUT) cJSON_AddNumberToObject(o, "pieces", L->pieces);
        if (L->kind == LAYER_LEAKY_RELU) cJSON_AddNumberToObject(o, "slope", L->slope);
        if (L->kind == LAYER_DROPOUT) cJSON_AddNumberToObject(o, "keep", L->keep);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

clgan_status checkpoint_save(trainer *t, const char *path, clgan_err *e) {
    tensor_out ts[256];
    int n = collect(t, ts, (int)ARRAY_LEN(ts));
    const clgan_model *m = t->m;
    cJSON *hdr = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", CKPT_FORMAT);
    cJSON_AddStringToObject(meta, "model_yaml", m->yaml_text ? m->yaml_text : "");
    cJSON_AddStringToObject(meta, "model_path", m->path);
    cJSON_AddStringToObject(meta, "model_name", m->name);
    char shape[64];
    snprintf(shape, sizeof shape, "%d,%d,%d", m->data.shape.c, m->data.shape.h, m->data.shape.w);
    cJSON_AddStringToObject(meta, "data_shape", shape);
    meta_u64(meta, "seed", m->train.seed);
    meta_u64(meta, "iter", t->iter);
    meta_u64(meta, "epoch", (uint64_t)t->epoch);
    meta_u64(meta, "batch_in_epoch", (uint64_t)t->batch_in_epoch);
    meta_u64(meta, "stream", t->stream);
    meta_u64(meta, "optimizer_steps.generator", t->opt[0].t);
    meta_u64(meta, "optimizer_steps.discriminator", t->opt[1].t);
    cJSON_AddStringToObject(meta, "device", t->dev->info.name);
    char *gl = layers_json(&m->net[CLGAN_GENERATOR]);
    cJSON_AddStringToObject(meta, "generator_layers", gl ? gl : "[]");
    cJSON_free(gl);
    cJSON_AddItemToObject(hdr, "__metadata__", meta);
    size_t data_len = 0;
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *sh = cJSON_CreateArray();
        for (int d = 0; d < ts[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ts[i].shape[d]));
        cJSON_AddItemToObject(o, "shape", sh);
        cJSON *offs = cJSON_CreateArray();
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)data_len));
        data_len += ts[i].count * sizeof(float);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)data_len));
        cJSON_AddItemToObject(o, "data_offsets", offs);
        cJSON_AddItemToObject(hdr, ts[i].name, o);
    }
    char *json = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    if (!json) return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8; /* data 8-byte aligned */
    size_t total = 8 + padded + data_len;
    unsigned char *buf = malloc(total);
    if (!buf) {
        cJSON_free(json);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, total);
    }
    uint64_t hl = padded;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hl >> (8 * i)); /* little-endian */
    memcpy(buf + 8, json, jlen);
    memset(buf + 8 + jlen, ' ', padded - jlen);
    cJSON_free(json);
    size_t pos = 8 + padded;
    clgan_status st = CLGAN_OK;
    for (int i = 0; i < n && st == CLGAN_OK; i++) {
        st = device_read(t->dev, ts[i].buf, ts[i].off * sizeof(float), ts[i].count * sizeof(float),
                         buf + pos);
        pos += ts[i].count * sizeof(float);
    }
    if (st != CLGAN_OK) {
        free(buf);
        return err_set(e, st, "%s: reading the device: %s", path, t->dev->err.msg);
    }
    st = file_write_atomic(path, buf, total, e);
    free(buf);
    return st;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct range {
    size_t a, b;
    const char *name;
} range;

static int cmp_range(const void *x, const void *y) {
    const range *p = x, *q = y;
    return p->a < q->a ? -1 : p->a > q->a;
}

void ckpt_close(ckpt *c) {
    if (c->header) cJSON_Delete(c->header);
    free(c->bytes);
    memset(c, 0, sizeof *c);
}

clgan_status ckpt_open(const char *path, ckpt *c, clgan_err *e) {
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    char *data;
    size_t len;
    clgan_status st = file_read_all(path, SIZE_MAX, &data, &len, e);
    if (st != CLGAN_OK) return st;
    c->bytes = (unsigned char *)data;
    c->len = len;
    range *rs = NULL;
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
    c->data_start = 8 + (size_t)hl;
    const char *end = NULL;
    c->header = cJSON_ParseWithLengthOpts((const char *)c->bytes + 8, (size_t)hl, &end, 0);
    cJSON *h = c->header;
    if (!h || !cJSON_IsObject(h)) {
        size_t at = end ? (size_t)(end - (const char *)c->bytes) : 8;
        st = err_set(e, CLGAN_ERR_DATA, "%s: malformed JSON header (near byte %zu)", path, at);
        goto fail;
    }
    size_t data_len = len - c->data_start;
    int nt = cJSON_GetArraySize(h), k = 0;
    rs = calloc((size_t)nt + 1, sizeof *rs);
    if (!rs) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (cJSON *it = h->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            for (cJSON *mv = it->child; mv; mv = mv->next)
                if (!cJSON_IsString(mv)) {
                    st = err_set(e, CLGAN_ERR_DATA, "%s: metadata '%s' is not a string", path,
                                 mv->string);
                    goto fail;
                }
            continue;
        }
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
            !cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2) {
            st = err_set(e, CLGAN_ERR_DATA,
                         "%s: tensor '%s' lacks dtype, shape or data_offsets [begin, end]", path,
                         it->string);
            goto fail;
        }
        if (strcmp(dt->valuestring, "F32") != 0) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' has dtype %s, expected F32", path,
                         it->string, dt->valuestring);
            goto fail;
        }
        double count = 1;
        for (cJSON *d = sh->child; d; d = d->next) {
            /* range first: converting a double beyond long's range is undefined behaviour */
            if (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble <= 1e15) ||
                d->valuedouble != (double)(long)d->valuedouble) {
                st = err_set(e, CLGAN_ERR_DATA, "%s: tensor '%s' has a malformed shape", path,
                             it->string);
                goto fail;
            }
            count *= d->valuedouble;
        }
        double a = cJSON_GetArrayItem(of, 0)->valuedouble, b = cJSON_GetArrayItem(of, 1)->valuedouble;
        if (!cJSON_IsNumber(cJSON_GetArrayItem(of, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(of, 1)) ||
            a < 0 || b < a || b > (double)data_len) {
            st = err_set(e, CLGAN_ERR_DATA,
                         "%s: tensor '%s' data_offsets [%.0f, %.0f] are outside the %zu data bytes",
                         path, it->string, a, b, data_len);
            goto fail;
        }
        if (b - a != count * 4) {
            st = err_set(e, CLGAN_ERR_DATA,
                         "%s: tensor '%s' spans %.0f bytes but its shape needs %.0f", path,
                         it->string, b - a, count * 4);
            goto fail;
        }
        rs[k++] = (range){(size_t)a, (size_t)b, it->string};
    }
    qsort(rs, (size_t)k, sizeof *rs, cmp_range);
    for (int i = 1; i < k; i++)
        if (rs[i].a < rs[i - 1].b) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: tensors '%s' and '%s' overlap", path,
                         rs[i - 1].name, rs[i].name);
            goto fail;
        }
    free(rs);
    const char *fmt = ckpt_meta(c, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: not a clgan checkpoint (metadata format is %s%s%s)",
                     path, fmt ? "'" : "missing", fmt ? fmt : "", fmt ? "'" : "");
        ckpt_close(c);
        return st;
    }
    return CLGAN_OK;
fail:
    free(rs);
    ckpt_close(c);
    return st;
}

const char *ckpt_meta(const ckpt *c, const char *key) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(c->header, "__metadata__");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
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
    *data = (const float *)(c->bytes + c->data_start + a); /* 8-aligned by construction */
    return CLGAN_OK;
}

static int parse_u64(const ckpt *c, const char *key, uint64_t *v) {
    const char *s = ckpt_meta(c, key);
    char *end;
    if (!s || !*s) return -1;
    *v = strtoull(s, &end, 10);
    return *end ? -1 : 0;
}

clgan_status ckpt_model(const ckpt *c, clgan_model **out, clgan_err *e) {
    const char *text = ckpt_meta(c, "model_yaml"), *mpath = ckpt_meta(c, "model_path"),
               *shape = ckpt_meta(c, "data_shape");
    shape3 s;
    *out = NULL;
    if (!text || !mpath || !shape || sscanf(shape, "%d,%d,%d", &s.c, &s.h, &s.w) != 3)
        return err_set(e, CLGAN_ERR_DATA, "%s: metadata lacks the model (model_yaml, model_path, "
                       "data_shape)", c->path);
    clgan_status st = model_load_text(mpath, text, strlen(text), &s, out);
    if (st != CLGAN_OK)
        return err_set(e, st, "%s: the model in its metadata: %s", c->path,
                       *out ? (*out)->err.msg : "out of memory");
    return CLGAN_OK;
}

clgan_status ckpt_load_net(const ckpt *c, net *n, optim *o, clgan_err *e) {
    const char *nn = net_names[n->index];
    float *p = calloc(n->n_params, sizeof *p);
    float *s[2] = {NULL, NULL};
    int ns = o ? optim_state_count(o) : 0;
    for (int i = 0; i < ns; i++) s[i] = calloc(n->n_params, sizeof(float));
    clgan_status st = CLGAN_OK;
    if (!p || (ns > 0 && !s[0]) || (ns > 1 && !s[1])) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n->n_layers && st == CLGAN_OK; i++) {
        const layer *l = &n->layers[i];
        if (l->spec->n_weights == 0) continue;
        for (int part = 0; part < 2 && st == CLGAN_OK; part++) {
            const char *pn = part == 0 ? "weight" : "bias";
            size_t off = part == 0 ? l->w_off : l->b_off;
            size_t cnt = (size_t)(part == 0 ? l->spec->n_weights : l->spec->n_bias);
            for (int k = -1; k < ns && st == CLGAN_OK; k++) {
                char name[160];
                if (k < 0)
                    snprintf(name, sizeof name, "%s.%d.%s", nn, i, pn);
                else
                    snprintf(name, sizeof name, "optimizer.%s.%d.%s.%s", nn, i, pn,
                             optim_state_name(o, k));
                const float *src;
                st = ckpt_tensor(c, name, cnt, &src, e);
                if (st == CLGAN_OK) memcpy((k < 0 ? p : s[k]) + off, src, cnt * sizeof(float));
            }
        }
    }
    if (st != CLGAN_OK) goto done;
    size_t bytes = n->n_params * sizeof(float);
    st = device_write(n->dev, n->params, 0, bytes, p, 1);
    for (int k = 0; k < ns && st == CLGAN_OK; k++)
        st = device_write(n->dev, optim_state_buf(o, k), 0, bytes, s[k], 1);
    if (st != CLGAN_OK) err_set(e, st, "%s", n->dev->err.msg);
done:
    free(p);
    free(s[0]);
    free(s[1]);
    return st;
}

clgan_status checkpoint_load(trainer *t, const char *path, clgan_err *e) {
    ckpt c;
    clgan_status st = ckpt_open(path, &c, e);
    if (st != CLGAN_OK) return st;
    uint64_t iter, epoch, bie, stream, tg, td;
    if (parse_u64(&c, "iter", &iter) || parse_u64(&c, "epoch", &epoch) ||
        parse_u64(&c, "batch_in_epoch", &bie) || parse_u64(&c, "stream", &stream) ||
        parse_u64(&c, "optimizer_steps.generator", &tg) ||
        parse_u64(&c, "optimizer_steps.discriminator", &td)) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: metadata lacks the training counters", path);
        goto done;
    }
    if ((long)bie > t->batches_per_epoch) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: position %" PRIu64 " in the epoch is beyond its %ld "
                     "batches (another data set?)", path, bie, t->batches_per_epoch);
        goto done;
    }
    st = ckpt_load_net(&c, t->g, &t->opt[0], e);
    if (st == CLGAN_OK) st = ckpt_load_net(&c, t->d, &t->opt[1], e);
    if (st != CLGAN_OK) goto done;
    t->iter = iter;
    t->epoch = (long)epoch;
    t->batch_in_epoch = (long)bie;
    t->stream = stream;
    t->opt[0].t = tg;
    t->opt[1].t = td;
    st = trainer_seek(t);
    if (st != CLGAN_OK) err_set(e, st, "%s", t->dev->err.msg);
done:
    ckpt_close(&c);
    return st;
}
