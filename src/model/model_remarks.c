/*
 * model_remarks.c - what clgan.h says of a loaded model beyond its layers: its summary
 * (clgan_model_get_info) and the remarks `clgan check` prints: the gradient penalties and the
 * augmentation it trains with, and layers whose bias a batch norm removes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"
#include "model.h"

const char *clgan_net_name(clgan_net net) {
    return model_net_name(net);
}

void clgan_model_get_info(const clgan_model *m, clgan_model_info *info) {
    memset(info, 0, sizeof *info);
    info->name = m->name;
    info->path = m->path;
    info->classifier = m->kind == MODEL_CLASSIFIER;
    info->batch = m->train.batch;
    info->k = m->train.k;
    info->seed = m->train.seed;
    info->data_c = m->data.shape.c;
    info->data_h = m->data.shape.h;
    info->data_w = m->data.shape.w;
    info->noise_dim = m->noise.dim;
    info->classes = info->classifier ? m->classes : m->condition_classes;
    info->data_unread = m->data.unread;
}

/* Text appended at *at of buf (len bytes), cut to fit; *at counts what the whole needs. */
static void add(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t len, size_t *at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0, fmt, ap);
    va_end(ap);
    if (n > 0) *at += (size_t)n;
}

size_t clgan_model_remarks(const clgan_model *m, char *buf, size_t len) {
    size_t at = 0;
    if (buf && len) buf[0] = '\0';
    if (!buf) len = 0;
    /* the gradient penalties and the augmentation a GAN trains with, one line each */
    static const char *const on[PENALTY_KINDS] = {"the real rows", "the generated rows",
                                                   "interpolates of real and generated rows"};
    for (int k = 0; k < PENALTY_KINDS; k++) {
        const penalty_spec *p = &m->train.penalty[k];
        if (p->weight <= 0) continue;
        if (k == PENALTY_GP)
            add(buf, len, &at, "train: gradient_penalty (weight %g) on %s: weight (|grad_x D| - "
                "%g)^2, every D step\n", p->weight, on[k], p->target);
        else if (p->every > 1)
            add(buf, len, &at, "train: %s (gamma %g) on %s: gamma/2 |grad_x D|^2 every %d D "
                "steps, weighed %d times\n", penalty_name(k), p->weight, on[k], p->every,
                p->every);
        else
            add(buf, len, &at, "train: %s (gamma %g) on %s: gamma/2 |grad_x D|^2 every D step\n",
                penalty_name(k), p->weight, on[k]);
    }
    const augment_spec *a = &m->train.augment;
    if (a->policy)
        add(buf, len, &at, "train: augment %s%s%s%s on every row D sees, each op with "
            "probability %g%s\n", a->policy & AUG_COLOR ? "color" : "",
            a->policy & AUG_COLOR && a->policy & ~AUG_COLOR ? ", " : "",
            a->policy & AUG_TRANSLATION ? "translation" : "",
            a->policy & AUG_CUTOUT ? (a->policy & ~AUG_CUTOUT ? ", cutout" : "cutout") : "",
            a->p, a->target > 0 ? " at first" : "");
    if (a->target > 0)
        add(buf, len, &at, "train: ADA adjusts p every %d D steps to hold D's r_t = E[sign D(x)] "
            "near %g\n", ADA_INTERVAL, a->target);
    /* layers whose bias a batch norm right after them removes (net_spec_bias_into_norm) */
    for (int w = 0; w < MODEL_NETS; w++) {
        const net_spec *ns = &m->net[w];
        for (int i = 0; i < ns->n_layers; i++) {
            if (!net_spec_bias_into_norm(ns, i)) continue;
            layer_kind k = ns->layers[i].kind;
            char where[CLGAN_MSG_MAX / 4], lp[LAYER_PATH_MAX];
            layer_where(m, &ns->layers[i], where, sizeof where);
            layer_path(ns, i, lp, sizeof lp);
            add(buf, len, &at, "note: %s%s layer %s (%s): its bias feeds the batch norm after "
                "it, which subtracts it: the bias's gradient is rounding noise that Adam turns "
                "into steps of +-lr, so devices differ in it for nothing (%s)\n", where,
                model_net_name((clgan_net)w), lp, layer_kind_name(k),
                k == LAYER_CONV2D || k == LAYER_CONV_TRANSPOSE2D ? "`bias: false` removes it"
                                                                 : "harmless to the network");
        }
    }
    return at;
}
