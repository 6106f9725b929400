/*
 * merge.cl - what graphs add to chains (src/layers/layer_add.c, layer_concat.c,
 * layer_identity.c, and the fan-out of src/net/graph.c): sums and copies of slots of one
 * buffer (the activations or the gradients), and column blocks of batch-major rows.
 *
 * Work size: global >= the values written (n, or rows * cols); any local size. The slots a
 * kernel reads never overlap the one it writes.
 */

/* buf[dst + i] += buf[src + i], i < n: a fan-out's gradient slot into its layer's dy, and each
 * input after the first two of an add. */
__kernel void grad_acc(__global float *buf, uint dst, uint src, uint n) {
    uint i = get_global_id(0);
    if (i < n) buf[dst + i] += buf[src + i];
}

/* dst[d_off + i] += src[s_off + i], i < n: across buffers (a penalty's parameter gradients
 * into the loss's, graph.c's net_add). */
__kernel void buf_add(__global float *dst, uint d_off, const __global float *restrict src,
                      uint s_off, uint n) {
    uint i = get_global_id(0);
    if (i < n) dst[d_off + i] += src[s_off + i];
}

/* buf[dst + i] = buf[a + i] + buf[b + i], i < n. */
__kernel void add_fwd(__global float *buf, uint dst, uint a, uint b, uint n) {
    uint i = get_global_id(0);
    if (i < n) buf[dst + i] = buf[a + i] + buf[b + i];
}

/* buf[dst + i] = buf[src + i], i < n. */
__kernel void copy_fwd(__global float *buf, uint dst, uint src, uint n) {
    uint i = get_global_id(0);
    if (i < n) buf[dst + i] = buf[src + i];
}

/*
 * Columns [col0, col0 + cols) of `rows` rows of dst_cols values (dst) from rows of cols values
 * (src): a concat's forward pass (put = 1), and back (put = 0: src's rows from dst's columns),
 * its backward pass.
 */
__kernel void cols_copy(__global float *buf, uint wide, uint wide_cols, uint col0, uint narrow,
                        uint cols, uint rows, uint put) {
    uint i = get_global_id(0);
    if (i >= rows * cols) return;
    uint r = i / cols, c = i % cols;
    size_t w = wide + (size_t)r * wide_cols + col0 + c;
    if (put) buf[w] = buf[narrow + i];
    else buf[narrow + i] = buf[w];
}
