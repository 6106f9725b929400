/*
 * data.cl - gathering a minibatch of training samples on the device.
 *
 * Layout: data[n][cols] (the whole training set, row-major), perm[n] this epoch's order,
 * destination rows in a network's activation buffer.
 * Work size: global >= rows * cols, one work-item per value.
 */
__kernel void gather_rows(const __global float *restrict data, const __global uint *restrict perm,
                          uint first, uint rows, uint cols, __global float *acts, uint dst_off) {
    uint i = get_global_id(0);
    if (i >= rows * cols) return;
    uint r = i / cols, c = i - r * cols;
    acts[dst_off + i] = data[(size_t)perm[first + r] * cols + c];
}
