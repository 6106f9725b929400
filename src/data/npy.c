/*
 * npy.c - .npy files both ways (see npy.h). The reader parses the header dictionary a numpy
 * writes ({'descr': ..., 'fortran_order': ..., 'shape': (...), }) strictly enough to refuse
 * what it cannot read, and checks the data's length against the shape.
 */
#include "npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clgan_status npy_write(const char *path, const float *v, long rows, size_t cols, clgan_err *e) {
    char hdr[160];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %zu), }", rows, cols);
    int total = (10 + n + 1 + 63) / 64 * 64; /* magic, version, length, dict, newline: 64-aligned */
    size_t bytes = (size_t)total + (size_t)rows * cols * sizeof(float);
    unsigned char *buf = malloc(bytes);
    if (!buf) return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    int hl = total - 10;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memset(buf + 10, ' ', (size_t)hl);
    memcpy(buf + 10, hdr, (size_t)n);
    buf[total - 1] = '\n';
    memcpy(buf + total, v, (size_t)rows * cols * sizeof(float));
    clgan_status st = file_write_atomic(path, buf, bytes, e);
    free(buf);
    return st;
}

/* The length of the value at v: a quoted string to its closing quote, a tuple to its ')', else
 * up to the next ',' or '}' (what a message quotes of it, and nothing of the next key). */
static int value_len(const char *v) {
    const char *e = NULL;
    if (*v == '\'' || *v == '"') {
        e = strchr(v + 1, *v);
        if (e) e++;
    } else if (*v == '(') {
        e = strchr(v, ')');
        if (e) e++;
    } else {
        e = v + strcspn(v, ",}");
    }
    size_t n = e ? (size_t)(e - v) : strlen(v);
    return n > 60 ? 60 : (int)n;
}

/* The text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

clgan_status npy_read(const char *path, float **out, long dims[NPY_MAX_DIMS], int *ndim,
                      clgan_err *e) {
    *out = NULL;
    char *data;
    size_t len;
    clgan_status st = file_read_all(path, (size_t)1 << 34, &data, &len, e);
    if (st != CLGAN_OK) return st;
    const unsigned char *b = (const unsigned char *)data;
    size_t hl, off;
    char *h = NULL;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    if (b[6] == 1) {
        hl = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if ((b[6] == 2 || b[6] == 3) && len >= 12) {
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        st = err_set(e, CLGAN_ERR_DATA, "%s: .npy format version %d.%d is not one clgan reads "
                     "(1.0, 2.0, 3.0)", path, b[6], b[7]);
        goto done;
    }
    if (hl > len - off || hl > (1u << 20)) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: truncated .npy header", path);
        goto done;
    }
    h = malloc(hl + 1);
    if (!h) {
        st = err_set(e, CLGAN_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(h, b + off, hl);
    h[hl] = '\0';
    const char *descr = dict_value(h, "descr"), *fo = dict_value(h, "fortran_order");
    const char *shape = dict_value(h, "shape");
    int f8 = 0;
    if (descr && strncmp(descr, "'<f4'", 5) == 0) {
        f8 = 0;
    } else if (descr && strncmp(descr, "'<f8'", 5) == 0) {
        f8 = 1;
    } else {
        st = err_set(e, CLGAN_ERR_DATA, "%s: dtype %.*s; clgan reads float32 ('<f4') or float64 "
                     "('<f8') arrays (numpy: x.astype(np.float32))", path,
                     descr ? value_len(descr) : 1, descr ? descr : "?");
        goto done;
    }
    if (!fo || strncmp(fo, "False", 5) != 0) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: a Fortran-order array; save it in C order "
                     "(np.ascontiguousarray)", path);
        goto done;
    }
    if (!shape || *shape != '(') {
        st = err_set(e, CLGAN_ERR_DATA, "%s: the .npy header has no shape", path);
        goto done;
    }
    *ndim = 0;
    double count = 1;
    const char *p = shape + 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p) || *ndim == NPY_MAX_DIMS) {
            st = err_set(e, CLGAN_ERR_DATA, "%s: shape %.*s: expected 1 to %d dimensions", path,
                         value_len(shape), shape, NPY_MAX_DIMS);
            goto done;
        }
        char *end;
        long v = strtol(p, &end, 10);
        dims[(*ndim)++] = v;
        count *= (double)v;
        p = end;
    }
    size_t esz = f8 ? 8 : 4, start = off + hl;
    if (*ndim == 0 || count * (double)esz != (double)(len - start)) {
        st = err_set(e, CLGAN_ERR_DATA, "%s: shape %.*s needs %.0f bytes of data, the file has "
                     "%zu", path, value_len(shape), shape, count * (double)esz, len - start);
        goto done;
    }
    size_t n = (size_t)count;
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        st = err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (f8) {
            double x;
            memcpy(&x, b + start + 8 * i, 8);
            v[i] = (float)x;
        } else {
            memcpy(&v[i], b + start + 4 * i, 4);
        }
    }
    *out = v;
done:
    free(h);
    free(data);
    return st;
}
