/*
 * modes.h - mode coverage of a generator on a mixture (the mode-collapse tests of Unrolled GAN,
 * VEEGAN and PacGAN): each sample goes to its nearest mode and is high-quality if it lies
 * within 3 standard deviations of it; a mode is covered if at least min_count high-quality
 * samples went to it (PacGAN: 20 of 2,500 samples).
 */
#ifndef CLGAN_MODES_H
#define CLGAN_MODES_H

#include "model.h"

#define MODES_MAX DATA_MAX_COMPONENTS

typedef struct mode_stats {
    int modes;                 /* modes of the data */
    int covered;               /* with at least min_count high-quality samples */
    long high_quality;         /* samples within 3 stddev of their nearest mode */
    long samples;
    long nonfinite;            /* samples that are NaN or Inf: counted, never high-quality */
    long count[MODES_MAX];     /* high-quality samples per mode */
} mode_stats;

/*
 * Counts x (n samples of d's shape) against the modes of d: ring_2d, mixture_1d or
 * gaussian_1d. CLGAN_ERR_ARG with a message for data of another kind.
 */
clgan_status modes_count(const data_spec *d, const float *x, long n, long min_count,
                         mode_stats *out, clgan_err *e);

#endif /* CLGAN_MODES_H */
