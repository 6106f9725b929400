/*
 * image.h - what a user looks at: PNG grids of samples, scatter plots of 2-D samples and
 * histograms of 1-D samples against the data. Files are written atomically.
 */
#ifndef CLGAN_IMAGE_H
#define CLGAN_IMAGE_H

#include "model.h"

typedef struct canvas {
    int w, h;
    unsigned char *rgb; /* w * h * 3 */
} canvas;

clgan_status canvas_init(canvas *c, int w, int h, unsigned char grey, clgan_err *e);
void canvas_free(canvas *c);
void canvas_dot(canvas *c, int x, int y, int r, unsigned char cr, unsigned char cg, unsigned char cb);
void canvas_rect(canvas *c, int x0, int y0, int x1, int y1, unsigned char cr, unsigned char cg,
                 unsigned char cb);
void canvas_line(canvas *c, int x0, int y0, int x1, int y1, unsigned char cr, unsigned char cg,
                 unsigned char cb);
clgan_status canvas_write_png(const canvas *c, const char *path, clgan_err *e);

/* Text in a 5x7 font (font.c), CANVAS_CHAR_W pixels per character, top-left at (x, y);
 * returns its width in pixels. canvas_text_up writes up the page from (x, y). */
#define CANVAS_CHAR_W 6
#define CANVAS_CHAR_H 7
int canvas_text(canvas *c, int x, int y, const char *s, unsigned char r, unsigned char g,
                unsigned char b);
void canvas_text_up(canvas *c, int x, int y, const char *s, unsigned char r, unsigned char g,
                    unsigned char b);

/*
 * A grid of n images of shape s (values in [0, 1], clipped), `cols` per row, each pixel drawn
 * scale x scale, 2-pixel gaps. 1 channel is grey, 3 are RGB.
 */
clgan_status image_grid_png(const char *path, const float *x, int n, shape3 s, int cols,
                            int scale, clgan_err *e);

/* 2-D points: data (grey) and samples (red) in one scatter plot. */
clgan_status image_scatter_png(const char *path, const float *data, long n_data,
                               const float *samples, long n_samples, clgan_err *e);

/* 1-D values: histograms of the data (grey bars) and of the samples (red outline). */
clgan_status image_hist_png(const char *path, const float *data, long n_data, const float *samples,
                            long n_samples, clgan_err *e);

#endif /* CLGAN_IMAGE_H */
