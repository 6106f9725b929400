/*
 * augment.c - differentiable augmentation (augment.h): the arguments of cl/augment.cl.
 */
#include "augment.h"

#define AUG_WG 64 /* cl/augment.cl's work-group */

clgan_status augment_rows(clgan_device *dev, cl_kernel *k, const augment_spec *a, float p,
                          shape3 s, int n, uint32_t e0, const uint32_t key[2], uint64_t stream,
                          cl_mem src, size_t s_off, cl_mem dst, size_t d_off, int backward) {
    clgan_status st = *k ? CLGAN_OK : device_kernel(dev, "cl/augment.cl", "augment", k);
    if (st != CLGAN_OK || n <= 0) return st;
    cl_uint so = (cl_uint)s_off, dof = (cl_uint)d_off, C = (cl_uint)s.c, H = (cl_uint)s.h,
            W = (cl_uint)s.w, e = e0, k0 = key[0], k1 = key[1], s_lo = (cl_uint)stream,
            s_hi = (cl_uint)(stream >> 32), pol = a->policy, bw = (cl_uint)backward;
    karg args[] = {KA(src), KA(so), KA(dst), KA(dof), KA(C), KA(H), KA(W), KA(e), KA(k0),
                   KA(k1), KA(s_lo), KA(s_hi), KA(pol), KA(p), KA(bw)};
    st = device_set_args(dev, *k, "augment", args, (int)ARRAY_LEN(args));
    size_t global = (size_t)n * AUG_WG, local = AUG_WG;
    if (st == CLGAN_OK)
        st = device_run_nd(dev, *k, 1, &global, &local, backward ? "augment_bwd" : "augment", 0);
    return st;
}
