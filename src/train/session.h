/*
 * session.h - the training run behind the public clgan_trainer (session.c), and the sample
 * pictures a run draws, which clgan_generator_write_png (`clgan sample`) draws alike.
 */
#ifndef CLGAN_SESSION_H
#define CLGAN_SESSION_H

#include "data.h"
#include "gan.h"

/*
 * Writes what G makes of `rows` noise vectors to a PNG at path: a grid of images (a row of 8
 * per class for a conditional model), else a scatter plot (2-D) or a histogram (1-D) over up
 * to 5,000 rows of data (NULL: none).
 */
clgan_status draw_samples(const clgan_model *m, const dataset *data, const float *x, int rows,
                          const char *path, clgan_err *e);

#endif /* CLGAN_SESSION_H */
