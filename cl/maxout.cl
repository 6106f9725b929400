/*
 * maxout.cl - the max over pieces of a maxout layer (Goodfellow et al., 2013).
 *
 * Layout: pre-activations z[row][unit * pieces + piece] (consecutive pieces of one unit, as in
 * pylearn2), output y[row][unit]. Ties go to the lowest piece, in both passes.
 * Work size: global >= rows * units, one work-item per output value.
 *
 * Built with -DMAXOUT_PIECES=P (src/layers/layer_maxout.c), the loops over pieces have a known length
 * and unroll: the backward pass ran 1.7x faster so on PoCL. Without it, the argument counts.
 */
#ifdef MAXOUT_PIECES
#define PIECES MAXOUT_PIECES
#else
#define PIECES pieces
#endif

__kernel void maxout_fwd(__global float *acts, uint z_off, uint y_off, uint rows, uint units,
                         uint pieces) {
    uint i = get_global_id(0);
    if (i >= rows * units) return;
    const __global float *z = acts + z_off + (size_t)i * PIECES;
    float m = z[0];
    /* a NaN piece wins, so NaN passes through (fmax would drop it) */
    for (uint p = 1; p < PIECES; p++) m = (isnan(z[p]) || z[p] > m) ? z[p] : m;
    acts[y_off + i] = m;
}

/* The winning piece of pre-activations z (P of them): the lowest of the largest. */
inline uint maxout_best(const __global float *z) {
    /* selects, not branches: the winner is data, and a mispredicted branch per piece cost more
     * than the rest of the kernel */
    uint best = 0;
    float m = z[0];
    for (uint p = 1; p < PIECES; p++) {
        float v = z[p];
        int gt = v > m;
        best = gt ? p : best;
        m = gt ? v : m;
    }
    return best;
}

/* A gradient penalty's tangent pass (src/net/penalty.c): ty[row][u] = tz[row][u*P + p] of the
 * piece p that won in the pass over the values (z in acts). */
__kernel void maxout_tan(const __global float *restrict acts, uint z_off,
                         __global float *tan, uint ty_off, uint rows, uint units, uint pieces) {
    uint i = get_global_id(0);
    if (i >= rows * units) return;
    uint best = maxout_best(acts + z_off + (size_t)i * PIECES);
    tan[ty_off + i] = tan[z_off + (size_t)i * PIECES + best];
}

/* dz[row][u*P + p] = dy[row][u] for the winning piece, 0 for the others. */
__kernel void maxout_bwd(const __global float *restrict acts, uint z_off, __global float *deltas,
                         uint dy_off, uint dz_off, uint rows, uint units, uint pieces) {
    uint i = get_global_id(0);
    if (i >= rows * units) return;
    uint best = maxout_best(acts + z_off + (size_t)i * PIECES);
    float dy = deltas[dy_off + i];
    __global float *dz = deltas + dz_off + (size_t)i * PIECES;
    for (uint p = 0; p < PIECES; p++) dz[p] = p == best ? dy : 0.0f;
}
