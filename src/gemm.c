/*
 * gemm.c - SGEMM through CLBlast on the device's queue.
 */
#include "gemm.h"

#include <clblast_c.h>
#include <stdio.h>

clgan_status gemm(clgan_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off,
                  size_t ldb, float beta, cl_mem c, size_t c_off, size_t ldc) {
    if (m == 0 || n == 0) return CLGAN_OK;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    dev->gemm_flops += flops;
    char name[128];
    snprintf(name, sizeof name, "gemm %zux%zux%zu %s%s", m, n, k, trans_a ? "T" : "N",
             trans_b ? "T" : "N");
    CLBlastStatusCode rc =
        CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                     trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_off,
                     lda, b, b_off, ldb, beta, c, c_off, ldc, &dev->queue,
                     device_prof_event(dev, name, flops));
    if (rc != CLBlastSuccess)
        return err_cl(&dev->err, (cl_int)rc, "CLBlastSgemm", "GEMM %zux%zux%zu (%s%s) on '%s'", m,
                      n, k, trans_a ? "T" : "N", trans_b ? "T" : "N", dev->info.name);
    return CLGAN_OK;
}
