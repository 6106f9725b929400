/*
 * data.cl - gathering a minibatch of training samples on the device.
 *
 * Layout: data[n][cols] (the whole training set, row-major), perm[n] this epoch's order,
 * destination rows in a network's activation buffer.
 * Work size: global >= (ceil(cols / 16), rows), 16 values of a row per work-item.
 * gather_labels: labels[n] bytes in the same order; global >= rows, one label per work-item.
 * gather_stacked: base[n_base][hw] images, tri[n][stack] the images of each sample, which are
 * its channels; global >= (ceil(hw / 16), rows * stack), 16 values of a channel per work-item.
 */
__kernel void gather_rows(const __global float *restrict data, const __global uint *restrict perm,
                          uint first, uint rows, uint cols, __global float *acts, uint dst_off) {
    uint c0 = 16 * get_global_id(0), r = get_global_id(1);
    if (c0 >= cols || r >= rows) return;
    uint cnt = min(16u, cols - c0);
    const __global float *src = data + (size_t)perm[first + r] * cols + c0;
    vstore16_part(vload16_part(src, cnt), acts + dst_off + (size_t)r * cols + c0, cnt);
}

__kernel void gather_labels(const __global uchar *restrict labels,
                            const __global uint *restrict perm, uint first, uint rows,
                            __global uchar *out) {
    uint r = get_global_id(0);
    if (r < rows) out[r] = labels[perm[first + r]];
}

__kernel void gather_stacked(const __global float *restrict base, const __global uint *restrict tri,
                             const __global uint *restrict perm, uint first, uint rows, uint stack,
                             uint hw, __global float *acts, uint dst_off) {
    uint c0 = 16 * get_global_id(0), rc = get_global_id(1);
    if (c0 >= hw || rc >= rows * stack) return;
    uint r = rc / stack, ch = rc % stack, cnt = min(16u, hw - c0);
    const __global float *src = base + (size_t)tri[(size_t)perm[first + r] * stack + ch] * hw + c0;
    __global float *dst = acts + dst_off + (size_t)r * stack * hw + (size_t)ch * hw + c0;
    vstore16_part(vload16_part(src, cnt), dst, cnt);
}
