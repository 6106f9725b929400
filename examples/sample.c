/*
 * examples/sample.c - a program on clgan's public API alone (include/clgan.h): opens the
 * default device (or CLGAN_DEVICE's), a checkpoint's generator, and writes n samples as raw
 * float32 values (n x C x H x W, in the model's data range) to a file.
 *
 *   example_sample CHECKPOINT OUT.f32 [N]
 *
 * `clgan sample CHECKPOINT -n N --npy P` draws the same samples into P.x.npy.
 */
#include <clgan.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s CHECKPOINT OUT.f32 [N]\n", argv[0]);
        return 2;
    }
    int n = argc == 4 ? atoi(argv[3]) : 16;
    clgan_device *dev;
    if (clgan_device_open(getenv("CLGAN_DEVICE"), &dev) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_device_errmsg(dev));
        clgan_device_free(dev);
        return 1;
    }
    clgan_generator *g;
    int rc = 1, c, h, w;
    float *x = NULL;
    if (clgan_generator_open(argv[1], dev, &g) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_generator_errmsg(g));
        goto done;
    }
    clgan_generator_sample_shape(g, &c, &h, &w);
    size_t count = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    x = malloc(count * sizeof *x);
    clgan_sample_params p = clgan_sample_default_params(); /* the run's seed, stream 0 */
    if (!x || clgan_generator_sample(g, n, &p, x) != CLGAN_OK) {
        fprintf(stderr, "%s\n", x ? clgan_generator_errmsg(g) : "out of memory");
        goto done;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(x, sizeof *x, count, f) != count || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", argv[2]);
        goto done;
    }
    printf("%d samples of %dx%dx%d (noise %d, %d classes) into %s\n", n, c, h, w,
           clgan_generator_noise_dim(g), clgan_generator_classes(g), argv[2]);
    rc = 0;
done:
    free(x);
    clgan_generator_free(g);
    clgan_device_free(dev);
    return rc;
}
