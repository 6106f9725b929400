/*
 * examples/train.c - training on clgan's public API alone (include/clgan.h): loads a model,
 * opens the default device (or CLGAN_DEVICE's), trains it for a number of iterations with a
 * progress line per log interval, saves a checkpoint that `clgan train --resume` continues,
 * and writes a grid of the trained generator's samples.
 *
 *   example_train MODEL.yaml ITERS OUT.safetensors GRID.png
 *
 * With nothing else set the run writes no run directory: these four files are all it reads
 * and writes. `clgan train MODEL --iters ITERS` trains the same numbers.
 */
#include <clgan.h>
#include <stdio.h>
#include <stdlib.h>

static void progress(const clgan_train_progress *p, void *user) {
    (void)user;
    if (p->event == CLGAN_EVENT_LOG)
        printf("iter %llu/%llu  D loss %.4f  G loss %.4f  D(x) %.3f  D(G(z)) %.3f\n",
               (unsigned long long)p->iter, (unsigned long long)p->total, p->d_loss, p->g_loss,
               p->d_real, p->d_fake);
    else if (p->event == CLGAN_EVENT_NOTE)
        fprintf(stderr, "note: %s\n", p->text);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.yaml ITERS OUT.safetensors GRID.png\n", argv[0]);
        return 2;
    }
    clgan_model *m = NULL;
    clgan_device *dev = NULL;
    clgan_trainer *t = NULL;
    clgan_generator *g = NULL;
    int rc = 1;
    if (clgan_model_load(argv[1], &m) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_model_errmsg(m));
        goto done;
    }
    if (clgan_device_open(getenv("CLGAN_DEVICE"), &dev) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_device_errmsg(dev));
        goto done;
    }
    clgan_train_params p = clgan_train_default_params();
    p.iters = strtoull(argv[2], NULL, 10);
    p.progress = progress;
    if (clgan_trainer_open(m, &dev, 1, &p, &t) != CLGAN_OK || clgan_trainer_run(t, 0) != CLGAN_OK ||
        clgan_trainer_save(t, argv[3]) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_trainer_errmsg(t));
        goto done;
    }
    /* the trained generator, read back from the checkpoint: a grid of 64 (8 per class) */
    if (clgan_generator_open(argv[3], dev, &g) != CLGAN_OK ||
        clgan_generator_write_png(g, clgan_generator_classes(g) ? 8 * clgan_generator_classes(g)
                                                                : 64, NULL, NULL, argv[4]) != CLGAN_OK) {
        fprintf(stderr, "%s\n", clgan_generator_errmsg(g));
        goto done;
    }
    printf("trained %s for %s iterations on %s: %s, %s\n", clgan_model_name(m), argv[2],
           clgan_device_get_info(dev)->name, argv[3], argv[4]);
    rc = 0;
done:
    clgan_generator_free(g);
    clgan_trainer_free(t);
    clgan_device_free(dev);
    clgan_model_free(m);
    return rc;
}
