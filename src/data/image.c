/*
 * image.c - PNG output through libpng (encoded in memory, then written atomically) and the
 * small amount of drawing the plots need.
 */
#include "image.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

clgan_status canvas_init(canvas *c, int w, int h, unsigned char grey, clgan_err *e) {
    c->w = w;
    c->h = h;
    c->rgb = malloc((size_t)w * h * 3);
    if (!c->rgb) return err_set(e, CLGAN_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    memset(c->rgb, grey, (size_t)w * h * 3);
    return CLGAN_OK;
}

void canvas_free(canvas *c) {
    free(c->rgb);
    c->rgb = NULL;
}

static void put(canvas *c, int x, int y, unsigned char r, unsigned char g, unsigned char b) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    unsigned char *p = c->rgb + ((size_t)y * c->w + x) * 3;
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

void canvas_dot(canvas *c, int x, int y, int r, unsigned char cr, unsigned char cg, unsigned char cb) {
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++)
            if (dx * dx + dy * dy <= r * r) put(c, x + dx, y + dy, cr, cg, cb);
}

void canvas_rect(canvas *c, int x0, int y0, int x1, int y1, unsigned char cr, unsigned char cg,
                 unsigned char cb) {
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) put(c, x, y, cr, cg, cb);
}

void canvas_line(canvas *c, int x0, int y0, int x1, int y1, unsigned char cr, unsigned char cg,
                 unsigned char cb) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        put(c, x0, y0, cr, cg, cb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

typedef struct membuf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t len) {
    membuf *m = png_get_io_ptr(png);
    if (m->failed) return;
    if (m->len + len > m->cap) {
        size_t cap = (m->cap + len) * 2;
        unsigned char *d = realloc(m->data, cap);
        if (!d) {
            m->failed = 1;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
}

static void mem_flush(png_structp png) {
    (void)png;
}

clgan_status canvas_write_png(const canvas *c, const char *path, clgan_err *e) {
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc((size_t)c->h * sizeof *rows);
    if (!png || !info || !rows) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory encoding PNG", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(m.data);
        return err_set(e, CLGAN_ERR_IO, "%s: PNG encoding failed", path);
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (int y = 0; y < c->h; y++) rows[y] = c->rgb + (size_t)y * c->w * 3;
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    clgan_status st = m.failed ? err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path)
                               : file_write_atomic(path, m.data, m.len, e);
    free(m.data);
    return st;
}

static unsigned char to_byte(float v) {
    if (!(v > 0.0f)) return 0; /* NaN draws black */
    if (v >= 1.0f) return 255;
    return (unsigned char)lrintf(v * 255.0f);
}

clgan_status image_grid_png(const char *path, const float *x, int n, shape3 s, int cols,
                            int scale, clgan_err *e) {
    if (n <= 0 || cols <= 0) return err_set(e, CLGAN_ERR_ARG, "%s: nothing to draw", path);
    int rows = (n + cols - 1) / cols, gap = 2;
    int cw = s.w * scale, ch = s.h * scale;
    canvas c;
    clgan_status st = canvas_init(&c, gap + cols * (cw + gap), gap + rows * (ch + gap), 64, e);
    if (st != CLGAN_OK) return st;
    size_t plane = (size_t)s.h * s.w;
    for (int i = 0; i < n; i++) {
        int ox = gap + (i % cols) * (cw + gap), oy = gap + (i / cols) * (ch + gap);
        const float *img = x + (size_t)i * shape_size(s);
        for (int yy = 0; yy < ch; yy++)
            for (int xx = 0; xx < cw; xx++) {
                size_t p = (size_t)(yy / scale) * s.w + (size_t)(xx / scale);
                unsigned char r = to_byte(img[p]), g = r, b = r;
                if (s.c >= 3) {
                    g = to_byte(img[plane + p]);
                    b = to_byte(img[2 * plane + p]);
                }
                put(&c, ox + xx, oy + yy, r, g, b);
            }
    }
    st = canvas_write_png(&c, path, e);
    canvas_free(&c);
    return st;
}

static void bounds(const float *v, long n, int stride, int k, double *lo, double *hi) {
    for (long i = 0; i < n; i++) {
        double x = v[(size_t)i * stride + k];
        if (!isfinite(x)) continue;
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
    }
}

clgan_status image_scatter_png(const char *path, const float *data, long n_data,
                               const float *samples, long n_samples, clgan_err *e) {
    const int W = 512;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 2; k++) bounds(data, n_data, 2, k, &lo, &hi);
    double span = hi - lo;
    if (!(span > 0)) span = 1;
    lo -= 0.25 * span;
    hi += 0.25 * span;
    canvas c;
    clgan_status st = canvas_init(&c, W, W, 255, e);
    if (st != CLGAN_OK) return st;
    canvas_line(&c, 0, W / 2, W - 1, W / 2, 220, 220, 220);
    canvas_line(&c, W / 2, 0, W / 2, W - 1, 220, 220, 220);
#define PX(v) ((int)lrint(((v) - lo) / (hi - lo) * (W - 1)))
    for (long i = 0; i < n_data; i++)
        canvas_dot(&c, PX(data[2 * i]), W - 1 - PX(data[2 * i + 1]), 1, 150, 150, 150);
    for (long i = 0; i < n_samples; i++)
        if (isfinite(samples[2 * i]) && isfinite(samples[2 * i + 1]))
            canvas_dot(&c, PX(samples[2 * i]), W - 1 - PX(samples[2 * i + 1]), 2, 220, 30, 30);
#undef PX
    st = canvas_write_png(&c, path, e);
    canvas_free(&c);
    return st;
}

clgan_status image_hist_png(const char *path, const float *data, long n_data, const float *samples,
                            long n_samples, clgan_err *e) {
    const int W = 600, H = 300, B = 100;
    double lo = INFINITY, hi = -INFINITY;
    bounds(data, n_data, 1, 0, &lo, &hi);
    double span = hi - lo;
    if (!(span > 0)) span = 1;
    lo -= 0.5 * span;
    hi += 0.5 * span;
    double hd[100] = {0}, hs[100] = {0}, mx = 0;
    for (long i = 0; i < n_data; i++) {
        int b = (int)((data[i] - lo) / (hi - lo) * B);
        if (b >= 0 && b < B) hd[b] += 1.0 / n_data;
    }
    for (long i = 0; i < n_samples; i++) {
        int b = (int)((samples[i] - lo) / (hi - lo) * B);
        if (isfinite(samples[i]) && b >= 0 && b < B) hs[b] += 1.0 / n_samples;
    }
    for (int b = 0; b < B; b++) mx = fmax(mx, fmax(hd[b], hs[b]));
    if (!(mx > 0)) mx = 1;
    canvas c;
    clgan_status st = canvas_init(&c, W, H, 255, e);
    if (st != CLGAN_OK) return st;
    int bw = W / B;
    for (int b = 0; b < B; b++) {
        int top = H - 1 - (int)(hd[b] / mx * (H - 10));
        canvas_rect(&c, b * bw, top, b * bw + bw - 1, H - 1, 190, 190, 190);
    }
    int py = H - 1;
    for (int b = 0; b < B; b++) {
        int y = H - 1 - (int)(hs[b] / mx * (H - 10));
        canvas_line(&c, b * bw, py, b * bw, y, 220, 30, 30);
        canvas_line(&c, b * bw, y, b * bw + bw - 1, y, 220, 30, 30);
        py = y;
    }
    st = canvas_write_png(&c, path, e);
    canvas_free(&c);
    return st;
}
