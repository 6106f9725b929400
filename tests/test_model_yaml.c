/*
 * test_model_yaml.c - the model language: every file in models/ loads; malformed files are
 * refused with the right status and a message that starts with file:line:col.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "model.h"
#include "testutil.h"

typedef struct bad_case {
    const char *file;      /* tests/data/bad/<file>.yaml */
    clgan_status status;
    int line, col;         /* expected position, 1-based */
    const char *message;   /* expected start of the message after "file:line:col: " */
} bad_case;

static const bad_case bad[] = {
    {"adam_momentum", CLGAN_ERR_YAML, 21, 49, "'momentum' applies to sgd, not adam"},
    {"alias", CLGAN_ERR_YAML, 22, 18, "aliases (*opt) are not allowed in model "},
    {"augment_op_twice", CLGAN_ERR_YAML, 18, 37, "'policy' in 'train.augment': 'cutout' tw"},
    {"augment_p_range", CLGAN_ERR_YAML, 18, 33, "'p' in 'train.augment': 1.5 is out of ra"},
    {"augment_points", CLGAN_ERR_MODEL, 18, 3, "'augment' in 'train' shifts, cuts and re"},
    {"augment_policy_scalar", CLGAN_ERR_YAML, 18, 21, "'policy' in 'train.augment': expected a "},
    {"augment_unknown_op", CLGAN_ERR_YAML, 18, 29, "'policy' in 'train.augment': unknown op "},
    {"batch_negative", CLGAN_ERR_YAML, 20, 10, "'batch' in 'train': -16 is out of range,"},
    {"batch_norm_one_value", CLGAN_ERR_MODEL, 12, 7, "batch_norm has nothing to normalise: eac"},
    {"binary", CLGAN_ERR_YAML, 1, 1, "not a text file (contains NUL bytes)"},
    {"clip_not_wasserstein", CLGAN_ERR_YAML, 21, 3, "'clip' applies to loss wasserstein (wei"},
    {"cls_k_key", CLGAN_ERR_YAML, 17, 3, "'k' applies to a GAN, not a classifier"},
    {"cls_no_labels", CLGAN_ERR_YAML, 4, 3, "'data': a classifier needs 'labels', the"},
    {"cls_no_test", CLGAN_ERR_YAML, 4, 3, "'data': a classifier needs 'test', the i"},
    {"cls_noise", CLGAN_ERR_YAML, 3, 1, "'noise' applies to a GAN, not a classifi"},
    {"cls_one_class", CLGAN_ERR_MODEL, 14, 7, "classifier output is 1x1x1 per sample, e"},
    {"cls_sigmoid_end", CLGAN_ERR_MODEL, 15, 7, "a classifier ends in its logits: drop th"},
    {"cls_sigmoid_flatten_end", CLGAN_ERR_MODEL, 15, 7, "a classifier ends in its logits: drop th"},
    {"cls_test_beyond", CLGAN_ERR_YAML, 8, 138, "'data.test': [0, 20000) is beyond the 10"},
    {"cls_test_file_overlap", CLGAN_ERR_YAML, 9, 9, "'data.test': images 0 to 2999 of "},
    {"comment_only", CLGAN_ERR_YAML, 1, 1, "empty model file"},
    {"cond_fewer_classes_than_modes", CLGAN_ERR_YAML, 3, 22,
     "'condition': the data have 8 modes, more"},
    {"cond_layer_without_condition", CLGAN_ERR_MODEL, 12, 7,
     "projection layer of discriminator: it re"},
    {"cond_no_labels", CLGAN_ERR_YAML, 3, 12, "'condition': the data need 'labels', the"},
    {"cond_packed", CLGAN_ERR_YAML, 3, 12, "'condition': packed discriminators (pack"},
    {"cond_stacked", CLGAN_ERR_YAML, 3, 12, "'condition': stacked data have no single"},
    {"conv_after_dense_in_d", CLGAN_ERR_MODEL, 22, 7, "conv2d layer of discriminator: its input"},
    {"conv_after_flat", CLGAN_ERR_MODEL, 12, 7, "conv_transpose2d layer of generator: its"},
    {"conv_bias_number", CLGAN_ERR_YAML, 20, 74, "'bias' in 'conv2d': expected true or fal"},
    {"conv_dilation_too_large", CLGAN_ERR_MODEL, 22, 7, "conv2d layer of discriminator: kernel 5x"},
    {"conv_filters_zero", CLGAN_ERR_YAML, 20, 31, "'filters' in 'conv2d': 0 is out of range"},
    {"conv_kernel_three", CLGAN_ERR_YAML, 20, 42, "'kernel' in 'conv2d': expected an intege"},
    {"conv_kernel_too_large", CLGAN_ERR_MODEL, 22, 7, "conv2d layer of discriminator: kernel 16"},
    {"conv_kernel_zero", CLGAN_ERR_YAML, 20, 42, "'kernel' in 'conv2d': 0 is out of range,"},
    {"conv_missing_kernel", CLGAN_ERR_YAML, 20, 7, "missing required key 'kernel' in 'conv2d"},
    {"conv_padding_negative", CLGAN_ERR_YAML, 20, 65, "'padding' in 'conv2d': -1 is out of rang"},
    {"conv_padding_word", CLGAN_ERR_YAML, 20, 65, "'padding' in 'conv2d': expected an integ"},
    {"conv_stride_zero", CLGAN_ERR_YAML, 20, 53, "'stride' in 'conv2d': 0 is out of range,"},
    {"convt_output_padding", CLGAN_ERR_MODEL, 13, 7, "conv_transpose2d layer of generator: out"},
    {"convt_padding_same", CLGAN_ERR_YAML, 13, 75, "'padding' in 'conv_transpose2d': expecte"},
    {"d_output_not_one", CLGAN_ERR_MODEL, 17, 7, "discriminator output has 2 values per sa"},
    {"d_sigmoid_dropout", CLGAN_ERR_MODEL, 19, 7, "a dropout after the discriminator's final "
                                                  "sigmoid (line 18) rescales"},
    {"data_missing_file", CLGAN_ERR_DATA, 8, 9, "'path' in 'data': "},
    {"data_ring_with_path", CLGAN_ERR_YAML, 8, 3, "'path' applies to idx data, not ring_2d"},
    {"data_stop_before_start", CLGAN_ERR_YAML, 10, 9, "'data': stop (50) must be greater than s"},
    {"dense_bare", CLGAN_ERR_YAML, 10, 7, "layer 'dense' needs settings: write {typ"},
    {"duplicate_key", CLGAN_ERR_YAML, 21, 3, "duplicate key 'batch' in 'train' (first "},
    {"ema_one", CLGAN_ERR_YAML, 21, 8, "'ema' in 'train': 1 is out of range, expe"},
    {"empty", CLGAN_ERR_YAML, 1, 1, "empty model file"},
    {"epochs_and_iters", CLGAN_ERR_YAML, 22, 3, "'train': give epochs or iters, not both"},
    {"g_loss_unknown", CLGAN_ERR_YAML, 21, 11, "'g_loss' in 'train': unknown value 'wass"},
    {"g_output_mismatch", CLGAN_ERR_MODEL, 12, 7, "generator output has 3 values per sample"},
    {"g_output_shape", CLGAN_ERR_MODEL, 13, 7, "generator output is 4x14x14 per sample, "},
    {"graph_add_one_input", CLGAN_ERR_YAML, 30, 25, "'from' names 1 layer: 'add' merges 2 or "},
    {"graph_add_shapes", CLGAN_ERR_MODEL, 30, 7, "add layer of discriminator: its inputs d"},
    {"graph_block_cycle", CLGAN_ERR_YAML, 24, 7, "in block 'res' (line 15:17): block 'othe"},
    {"graph_block_itself", CLGAN_ERR_YAML, 21, 7, "in block 'res' (line 15:17): block 'res'"},
    {"graph_block_shape", CLGAN_ERR_MODEL, 20, 7, "in block 'res' (line 15:9): add layer 'r"},
    {"graph_block_unknown", CLGAN_ERR_YAML, 20, 15, "no block is named 'resnet' (the model's "},
    {"graph_concat_image_flat", CLGAN_ERR_MODEL, 31, 7, "concat layer of discriminator: input 1 i"},
    {"graph_concat_sizes", CLGAN_ERR_MODEL, 30, 7, "concat layer of discriminator: its image"},
    {"graph_dead_end", CLGAN_ERR_MODEL, 31, 7, "relu layer 'unused' of discriminator: no"},
    {"graph_dollar_unknown", CLGAN_ERR_YAML, 20, 7, "in block 'res' (line 13:52): '$kernl' is"},
    {"graph_duplicate_name", CLGAN_ERR_YAML, 28, 44, "two layers are named 'c1' (the first at "},
    {"graph_from_later", CLGAN_ERR_YAML, 28, 54, "'from: c2' names a later layer (line 29)"},
    {"graph_from_self", CLGAN_ERR_YAML, 29, 76, "'from: c2' names the layer itself: a cyc"},
    {"graph_from_two_for_one", CLGAN_ERR_YAML, 31, 29, "'from' names 2 layers: 'flatten' reads 1"},
    {"graph_from_unknown", CLGAN_ERR_YAML, 30, 30, "'from: c3' names no layer (the names bef"},
    {"graph_merge_bare", CLGAN_ERR_YAML, 30, 7, "layer 'add' merges layers: write {type: "},
    {"graph_name_digit", CLGAN_ERR_YAML, 28, 44, "'name': expected a name of 1 to 48 lette"},
    {"graph_name_input", CLGAN_ERR_YAML, 28, 44, "'name': 'input' names the network's (or "},
    {"graph_param_missing", CLGAN_ERR_YAML, 20, 7, "block 'res' needs parameter 'channels' ("},
    {"graph_param_range", CLGAN_ERR_YAML, 20, 7, "in block 'res' (line 20:41): 'kernel' in"},
    {"graph_param_type", CLGAN_ERR_YAML, 20, 30, "parameter 'channels' of block 'res': exp"},
    {"graph_param_unknown", CLGAN_ERR_YAML, 20, 33, "unknown parameter 'width' of block 'res'"},
    {"huge_layer", CLGAN_ERR_MODEL, 10, 7, "dense layer of generator has 4294967296 "},
    {"init_two_kinds", CLGAN_ERR_YAML, 10, 37, "'init': give exactly one of uniform (hal"},
    {"keep_out_of_range", CLGAN_ERR_YAML, 16, 29, "'keep' in 'dropout': 1.5 is out of range"},
    {"keep_zero", CLGAN_ERR_YAML, 16, 29, "'keep' in 'dropout': 0 is out of range, "},
    {"layers_empty", CLGAN_ERR_YAML, 9, 11, "'layers' in 'generator': the list is emp"},
    {"layers_not_list", CLGAN_ERR_YAML, 9, 11, "'layers' in 'generator': expected a list"},
    {"logit_bias_in_d", CLGAN_ERR_MODEL, 17, 7, "'bias: logit_of_data_mean' is for the de"},
    {"loss_and_g_loss", CLGAN_ERR_YAML, 22, 3, "'train': give loss or g_loss (its older "},
    {"loss_critic_sigmoid", CLGAN_ERR_MODEL, 18, 7, "'loss: hinge' takes a critic's raw outpu"},
    {"lr_zero", CLGAN_ERR_YAML, 21, 42, "'learning_rate' in 'train.generator': 0 "},
    {"missing_lr", CLGAN_ERR_YAML, 21, 14, "missing required key 'learning_rate' in "},
    {"missing_noise", CLGAN_ERR_YAML, 2, 1, "missing required key 'noise' in 'model'"},
    {"missing_train", CLGAN_ERR_YAML, 2, 1, "missing required key 'train' in 'model'"},
    {"missing_units", CLGAN_ERR_YAML, 10, 7, "missing required key 'units' in 'dense'"},
    {"name_path", CLGAN_ERR_YAML, 2, 7, "'name': expected 1 to 127 letters, digits"},
    {"noise_bad_dist", CLGAN_ERR_YAML, 5, 17, "'distribution' in 'noise': unknown value"},
    {"noise_dim_zero", CLGAN_ERR_YAML, 4, 8, "'dim' in 'noise': 0 is out of range, exp"},
    {"noise_low_high", CLGAN_ERR_YAML, 7, 9, "'noise': low (1) must be less than high "},
    {"noise_mean_on_uniform", CLGAN_ERR_YAML, 6, 3, "'mean' applies to gaussian noise, not un"},
    {"not_mapping", CLGAN_ERR_YAML, 1, 1, "'model': expected a mapping, got a list"},
    {"optimizer_unknown", CLGAN_ERR_YAML, 21, 21, "'type' in 'train.generator': unknown val"},
    {"pack_not_dividing", CLGAN_ERR_YAML, 21, 9, "'pack' in 'train': batch 16 is not a mult"},
    {"penalty_attention", CLGAN_ERR_MODEL, 20, 3, "'r1' in 'train' differentiates D's gradi"},
    {"penalty_batch_norm", CLGAN_ERR_MODEL, 19, 3, "'gradient_penalty' in 'train' differentiates"},
    {"penalty_every_zero", CLGAN_ERR_YAML, 18, 25, "'every' in 'train.r2': 0 is out of rang"},
    {"penalty_gp_key", CLGAN_ERR_YAML, 18, 34, "unknown key 'every' in 'train.gradient_pen"},
    {"penalty_no_gamma", CLGAN_ERR_YAML, 18, 7, "missing required key 'gamma' in 'train.r1"},
    {"range_reversed", CLGAN_ERR_YAML, 8, 10, "'range' in 'data': low (1) must be less "},
    {"reshape_two_values", CLGAN_ERR_YAML, 12, 30, "'shape' in 'reshape': expected [channels"},
    {"reshape_wrong_size", CLGAN_ERR_MODEL, 12, 7, "reshape layer of generator: [8, 7, 8] ho"},
    {"rmsprop_beta1", CLGAN_ERR_YAML, 21, 52, "'beta1' applies to adam, not rmsprop"},
    {"second_document", CLGAN_ERR_YAML, 23, 1, "a model file holds one YAML document; fo"},
    {"seed_negative", CLGAN_ERR_YAML, 21, 9, "'seed' in 'train': expected a non-negati"},
    {"loss_critic_sigmoid_flatten", CLGAN_ERR_MODEL, 18, 7, "'loss: hinge' takes a critic's raw "
                                                            "output: drop the discriminator's"},
    {"test_inside_training", CLGAN_ERR_YAML, 9, 9, "'test' in 'data': images 7000 to 9499 "
                                                   "overlap the training images 0 to 7999 of"},
    {"slope_negative", CLGAN_ERR_YAML, 16, 33, "'slope' in 'leaky_relu': -0.2 is out of "},
    {"smoothing_relativistic", CLGAN_ERR_YAML, 22, 3, "'label_smoothing' applies to the cross-e"},
    {"syntax_flow", CLGAN_ERR_YAML, 12, 7, "YAML syntax error: did not find expected"},
    {"syntax_indent", CLGAN_ERR_YAML, 5, 10, "YAML syntax error: mapping values are no"},
    {"tab_indent", CLGAN_ERR_YAML, 4, 1, "YAML syntax error: found character that "},
    {"units_1e12", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': 1000000000000 is out"},
    {"units_float", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': expected an integer "},
    {"units_list", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': expected an integer "},
    {"units_negative", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': -3 is out of range, "},
    {"units_quoted", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': expected an integer "},
    {"units_string", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': expected an integer "},
    {"units_zero", CLGAN_ERR_YAML, 10, 28, "'units' in 'dense': 0 is out of range, e"},
    {"unknown_layer_key", CLGAN_ERR_YAML, 10, 31, "unknown key 'activation' in 'dense' (exp"},
    {"unknown_layer_type", CLGAN_ERR_YAML, 10, 14, "'type' in 'layer': unknown value 'conv3d"},
    {"unknown_top_key", CLGAN_ERR_YAML, 3, 1, "unknown key 'optimizer' in 'model' (expe"},
    {"upsample_flat", CLGAN_ERR_MODEL, 12, 7, "upsample layer of generator: its input i"},
};

START_TEST(malformed_file) {
    const bad_case *c = &bad[_i];
    char rel[256], prefix[1400];
    snprintf(rel, sizeof rel, "tests/data/bad/%s.yaml", c->file);
    const char *path = src_path(rel);
    clgan_model *m;
    clgan_status st = clgan_model_load(path, &m);
    const char *msg = clgan_model_errmsg(m);
    ck_assert_msg(st == c->status, "%s: status %d (%s), want %d; message: %s", c->file, st,
                  clgan_status_str(st), c->status, msg);
    snprintf(prefix, sizeof prefix, "%s:%d:%d: %s", path, c->line, c->col, c->message);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "%s:\n got: %s\nwant: %s...", c->file,
                  msg, prefix);
    clgan_model_free(m);
}
END_TEST

START_TEST(every_model_loads) {
    const char *dir = src_path("models");
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        clgan_model *m;
        clgan_status st = clgan_model_load(path, &m);
        ck_assert_msg(st == CLGAN_OK, "%s: %s", path, clgan_model_errmsg(m));
        clgan_model_free(m);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 2);
    clgan_model *m;
    ck_assert(clgan_model_load(src_path("tests/data/tiny.yaml"), &m) == CLGAN_OK);
    clgan_model_free(m);
    ck_assert_msg(clgan_model_load(src_path("tests/data/conv_base.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    clgan_model_free(m);
    /* C x 1 x 1 images: a reshape to 8x1x1 into a transposed convolution, convolutions down to
     * 4x1x1 and 1x1, upsampling of a 4x1x1 image; the final sigmoid behind a flatten */
    ck_assert_msg(clgan_model_load(src_path("tests/data/c1x1_image.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    ck_assert(shape_is_image(m->net[CLGAN_GENERATOR].layers[0].out));
    ck_assert(!shape_is_image(m->net[CLGAN_DISCRIMINATOR].out));
    ck_assert_int_eq(net_spec_final_sigmoid(&m->net[CLGAN_DISCRIMINATOR]), 5);
    clgan_model_free(m);
}
END_TEST

START_TEST(paper_model) {
    clgan_model *m;
    ck_assert_msg(clgan_model_load(src_path("models/mnist_paper.yaml"), &m) == CLGAN_OK, "%s",
                  clgan_model_errmsg(m));
    ck_assert_int_eq(m->net[CLGAN_GENERATOR].n_params, 2503984);
    ck_assert_int_eq(m->net[CLGAN_DISCRIMINATOR].n_params, 1231441);
    uint64_t sum = 0;
    for (int i = 0; i < clgan_model_layers(m, CLGAN_DISCRIMINATOR); i++) {
        clgan_layer_info info;
        ck_assert(clgan_model_layer_info(m, CLGAN_DISCRIMINATOR, i, &info) == CLGAN_OK);
        sum += info.params;
    }
    ck_assert_uint_eq(sum, 1231441);
    /* What the paper's code declares, as parsed. */
    const net_spec *d = &m->net[CLGAN_DISCRIMINATOR];
    ck_assert_int_eq(d->layers[1].kind, LAYER_MAXOUT);
    clgan_layer_info info;
    ck_assert(clgan_model_layer_info(m, CLGAN_DISCRIMINATOR, 1, &info) == CLGAN_OK);
    ck_assert_str_eq(info.detail, "240x5");
    ck_assert(clgan_model_layer_info(m, CLGAN_DISCRIMINATOR, 0, &info) == CLGAN_OK);
    ck_assert_str_eq(info.detail, "keep 0.8");
    param_info ps[LAYER_MAX_PARAMS];
    ck_assert_int_eq(layer_params(&m->net[CLGAN_GENERATOR].layers[4], ps), 2);
    ck_assert_int_eq(ps[1].init, INIT_LOGIT_DATA_MEAN);
    ck_assert_int_eq(ps[0].init, INIT_UNIFORM);
    ck_assert_float_eq_tol(ps[0].scale, 0.05f, 1e-7f);
    ck_assert_int_eq(m->noise.dist, NOISE_UNIFORM);
    ck_assert_float_eq_tol(m->noise.b, 1.7320508f, 1e-6f);
    ck_assert_int_eq(m->train.batch, 100);
    ck_assert_int_eq(m->train.opt[CLGAN_GENERATOR].kind, OPTIM_SGD);
    ck_assert_float_eq_tol(m->train.opt[CLGAN_GENERATOR].decay, 1.000004f, 1e-7f);
    ck_assert_float_eq_tol(m->train.opt[CLGAN_GENERATOR].momentum_final, 0.7f, 1e-7f);
    ck_assert_int_eq(m->train.opt[CLGAN_GENERATOR].momentum_epochs, 250);
    ck_assert_int_eq(m->data.start, 0);
    ck_assert_int_eq(m->data.stop, 8000);
    ck_assert_int_eq(m->data.shape.h, 28);
    /* the data ship with clgan, and their path is kept absolute (checkpoints carry it) */
    ck_assert_msg(m->data.path[0] == '/' &&
                      strstr(m->data.path, "/models/data/mnist/t10k-images-idx3-ubyte.gz"),
                  "%s", m->data.path);
    clgan_model_free(m);
}
END_TEST

START_TEST(not_a_file) {
    clgan_model *m;
    ck_assert_int_eq(clgan_model_load(src_path("tests/data"), &m), CLGAN_ERR_IO);
    ck_assert_msg(strstr(clgan_model_errmsg(m), "is a directory"), "%s", clgan_model_errmsg(m));
    clgan_model_free(m);
    ck_assert_int_eq(clgan_model_load(src_path("tests/data/no-such.yaml"), &m), CLGAN_ERR_IO);
    ck_assert_msg(strstr(clgan_model_errmsg(m), "No such file"), "%s", clgan_model_errmsg(m));
    clgan_model_free(m);
}
END_TEST

/* IDX files the data section points at: header problems surface at the 'path' value. */
static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL);
    ck_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

START_TEST(idx_header_errors) {
    char dir[] = "/tmp/clgan-yaml-XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char yaml[256], img[256];
    snprintf(yaml, sizeof yaml, "%s/m.yaml", dir);
    snprintf(img, sizeof img, "%s/img.idx", dir);
    char *base;
    ck_assert(file_read_all(src_path("tests/data/tiny.yaml"), 1 << 20, &base, NULL, NULL) == CLGAN_OK);
    /* data: format idx over 2 "images" of 1x2 so the tiny model's shapes still fit */
    char *at = strstr(base, "  format: ring_2d\n");
    ck_assert(at != NULL);
    char text[4096];
    snprintf(text, sizeof text, "%.*s  format: idx\n  path: img.idx\n  stop: 2\n%s",
             (int)(at - base), base, at + strlen("  format: ring_2d\n"));
    write_file(yaml, text, strlen(text));
    const unsigned char good[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4};
    write_file(img, good, sizeof good);
    clgan_model *m;
    ck_assert_msg(clgan_model_load(yaml, &m) == CLGAN_OK, "%s", clgan_model_errmsg(m));
    ck_assert_int_eq(m->data.count, 2);
    clgan_model_free(m);

    char prefix[512];
    const unsigned char magic[] = {0x1f, 0x00, 8, 3, 0, 0, 0, 2};
    write_file(img, magic, sizeof magic);
    ck_assert_int_eq(clgan_model_load(yaml, &m), CLGAN_ERR_DATA);
    snprintf(prefix, sizeof prefix, "%s:8:9: 'path' in 'data': %s/img.idx: not an IDX file", yaml,
             dir);
    ck_assert_msg(strncmp(clgan_model_errmsg(m), prefix, strlen(prefix)) == 0, "%s",
                  clgan_model_errmsg(m));
    clgan_model_free(m);

    write_file(img, good, 10); /* header cut short */
    ck_assert_int_eq(clgan_model_load(yaml, &m), CLGAN_ERR_DATA);
    ck_assert_msg(strstr(clgan_model_errmsg(m), "truncated IDX header"), "%s",
                  clgan_model_errmsg(m));
    clgan_model_free(m);

    unsigned char one[20];
    memcpy(one, good, sizeof good);
    one[7] = 1; /* only 1 image, but stop: 2 */
    write_file(img, one, 19);
    ck_assert_int_eq(clgan_model_load(yaml, &m), CLGAN_ERR_DATA);
    snprintf(prefix, sizeof prefix, "%s:9:9: 'stop' in 'data': 2 is beyond the 1 images", yaml);
    ck_assert_msg(strncmp(clgan_model_errmsg(m), prefix, strlen(prefix)) == 0, "%s",
                  clgan_model_errmsg(m));
    clgan_model_free(m);
    free(base);
    unlink(img);
    unlink(yaml);
    rmdir(dir);
}
END_TEST

/* data.range: pixels 0 and 255 become its ends, and data_to_unit takes them back. */
START_TEST(data_range_maps_pixels) {
    clgan_model *m;
    ck_assert(clgan_model_load(src_path("tests/data/conv_base.yaml"), &m) == CLGAN_OK);
    ck_assert(m->data.range[0] == -1.0f && m->data.range[1] == 1.0f);
    dataset d;
    clgan_err e;
    ck_assert_msg(dataset_load(m, 1, &d, &e) == CLGAN_OK, "%s", e.msg);
    float lo = 1e9f, hi = -1e9f;
    size_t n = (size_t)d.n * d.cols;
    for (size_t i = 0; i < n; i++) {
        lo = fminf(lo, d.host[i]);
        hi = fmaxf(hi, d.host[i]);
    }
    ck_assert(lo == -1.0f && hi == 1.0f); /* MNIST has black and white pixels */
    float v[3] = {-1.0f, 0.0f, 1.0f};
    data_to_unit(&m->data, v, 3);
    ck_assert(v[0] == 0.0f && v[1] == 0.5f && v[2] == 1.0f);
    dataset_free(&d);
    clgan_model_free(m);
}
END_TEST

/*
 * The table of layer classes: every kind has a class named as its YAML type, with every
 * function; its keys' values lie within layer_spec.v without overlapping; a kind with no
 * required key takes its plain name and gets its defaults.
 */
START_TEST(layer_classes_complete) {
    for (int k = 0; k < LAYER_KIND_COUNT; k++) {
        const layer_class *c = layer_class_of((layer_kind)k);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(layer_kind_from_name(c->name), k);
        ck_assert_msg(c->infer && c->params && c->describe && c->gemms && c->ops.setup &&
                          c->ops.forward && c->ops.backward && c->host_forward,
                      "%s lacks a function", c->name);
        unsigned used = 0;
        int required = 0;
        for (int i = 0; i < c->n_keys; i++) {
            const layer_key *key = &c->keys[i];
            for (int j = 0; j < key_values(key->type); j++) {
                int slot = key->slot + j;
                ck_assert_msg(slot >= 0 && slot < LAYER_MAX_VALUES, "%s.%s", c->name, key->name);
                ck_assert_msg(!(used & 1u << slot), "%s.%s overlaps", c->name, key->name);
                used |= 1u << slot;
            }
            ck_assert_msg(strcmp(key->name, "type") != 0, "%s: 'type' is not a key", c->name);
            required |= (key->flags & KEY_REQUIRED) != 0;
        }
        layer_spec L;
        clgan_err e;
        clgan_status st = model_parse_layer(c->name, &L, &e);
        if (required || c->min_inputs > 1) {
            ck_assert_int_eq(st, CLGAN_ERR_YAML);
            ck_assert_msg(strstr(e.msg, required ? "needs settings" : "merges layers") != NULL,
                          "%s", e.msg);
        } else {
            ck_assert_msg(st == CLGAN_OK, "%s: %s", c->name, e.msg);
            ck_assert_int_eq(L.kind, k);
        }
    }
    ck_assert_str_eq(layer_kind_name(LAYER_KIND_COUNT), "?");
    ck_assert_int_eq(layer_kind_from_name("conv3d"), -1);
}
END_TEST

/* One layer parsed alone: the settings land where the class reads them, errors carry columns. */
START_TEST(layer_parsed_alone) {
    layer_spec L;
    clgan_err e;
    ck_assert(model_parse_layer("{type: maxout, units: 7, pieces: 3}", &L, &e) == CLGAN_OK);
    L.in = (shape3){5, 1, 1, 0};
    param_info ps[LAYER_MAX_PARAMS];
    ck_assert_int_eq(layer_params(&L, ps), 2);
    ck_assert_str_eq(ps[0].name, "weight");
    ck_assert_int_eq(ps[0].shape[0], 21);
    ck_assert_int_eq(ps[0].shape[1], 5);
    ck_assert_int_eq(ps[0].init, INIT_XAVIER);
    ck_assert_int_eq(ps[1].init, INIT_CONST);
    ck_assert(model_parse_layer("leaky_relu", &L, &e) == CLGAN_OK);
    ck_assert(model_parse_layer("{type: leaky_relu, slope: 1}", &L, &e) == CLGAN_ERR_YAML);
    ck_assert_str_eq(e.msg, "layer:1:27: 'slope' in 'leaky_relu': 1 is out of range, expected a "
                            "number in (0, 1)");
    ck_assert(model_parse_layer("{type: dense, units: 3, bias: x}", &L, &e) == CLGAN_ERR_YAML);
    ck_assert_msg(strncmp(e.msg, "layer:1:31: 'bias' in 'bias': expected", 38) == 0, "%s", e.msg);
    ck_assert(model_parse_layer("{type: dense, units: 3, pieces: 2}", &L, &e) == CLGAN_ERR_YAML);
    ck_assert_str_eq(e.msg, "layer:1:25: unknown key 'pieces' in 'dense' (expected: type, units, "
                            "init, bias, spectral_norm, name, from)");
    ck_assert(model_parse_layer("{type: relu, from: a}", &L, &e) == CLGAN_ERR_YAML);
    ck_assert_str_eq(e.msg, "layer:1:14: 'from' names layers of a network: this layer stands "
                            "alone");
    ck_assert(model_parse_layer("conv3d", &L, &e) == CLGAN_ERR_YAML);
    ck_assert_msg(strncmp(e.msg, "layer:1:1: unknown layer type 'conv3d' (expected: dense,", 56) == 0,
                  "%s", e.msg);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("model_yaml");
    TCase *good = tcase_create("valid");
    tcase_add_test(good, every_model_loads);
    tcase_add_test(good, paper_model);
    tcase_add_test(good, layer_classes_complete);
    tcase_add_test(good, layer_parsed_alone);
    tcase_add_test(good, data_range_maps_pixels);
    suite_add_tcase(s, good);
    TCase *badc = tcase_create("malformed");
    tcase_add_loop_test(badc, malformed_file, 0, (int)ARRAY_LEN(bad));
    tcase_add_test(badc, not_a_file);
    tcase_add_test(badc, idx_header_errors);
    suite_add_tcase(s, badc);
    return run_suite(s, argc, argv, 1);
}
