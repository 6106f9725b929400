/*
 * layer_table.h - the layer kinds: one row each, (ENUM, class). The row makes the kind's enum
 * value LAYER_<ENUM> and puts its class, `layer_<class>` defined in src/layers/layer_<...>.c,
 * into layer_classes[] (layers.c). Adding a kind is a row here, its layer file (schema, shapes,
 * parameters, device forward/backward, host reference), its cl/ file and its tests.
 *
 * The order is the enum's and nothing else's: checkpoints and model files name kinds.
 */
#ifndef CLGAN_LAYER_TABLE_H
#define CLGAN_LAYER_TABLE_H

#define LAYER_TABLE(X)                                                                             \
    X(DENSE, dense)                                                                                \
    X(RELU, relu)                                                                                  \
    X(LEAKY_RELU, leaky_relu)                                                                      \
    X(TANH, tanh)                                                                                  \
    X(SIGMOID, sigmoid)                                                                            \
    X(MAXOUT, maxout)                                                                              \
    X(DROPOUT, dropout)                                                                            \
    X(CONV2D, conv2d)                                                                              \
    X(CONV_TRANSPOSE2D, conv_transpose2d)                                                          \
    X(RESHAPE, reshape)                                                                            \
    X(FLATTEN, flatten)                                                                            \
    X(BATCH_NORM, batch_norm)                                                                      \
    X(UPSAMPLE, upsample)                                                                          \
    X(LABEL_CONCAT, label_concat)                                                                  \
    X(PROJECTION, projection)                                                                      \
    X(ADD, add)                                                                                    \
    X(CONCAT, concat)                                                                              \
    X(IDENTITY, identity)                                                                          \
    X(AVG_POOL2D, avg_pool2d)                                                                      \
    X(GLOBAL_SUM_POOL, global_sum_pool)                                                            \
    X(GLOBAL_AVG_POOL, global_avg_pool)                                                            \
    X(SELF_ATTENTION, self_attention)

#endif /* CLGAN_LAYER_TABLE_H */
