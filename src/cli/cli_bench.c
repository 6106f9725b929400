/*
 * cli_bench.c - `clgan bench MODEL`: how fast a model trains on one device or on every device.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_result(const clgan_bench_result *r, const clgan_model_info *m) {
    char mem[32];
    clgan_format_bytes((double)r->device_bytes, mem, sizeof mem);
    printf("\n%s (%s, %s)\n", r->device.name, r->device.platform_name, r->device.driver_version);
    printf("  start to first iteration: cold %.2f s (%d programs built), warm %.2f s (%d built)\n",
           r->cold_start_s, r->cold_built, r->warm_start_s, r->warm_built);
    printf("  iteration: median %.2f ms, best %.2f ms over %d (k %d, batch %d)\n",
           r->median_s * 1e3, r->min_s * 1e3, r->iters, m->k, m->batch);
    printf("  %.0f real samples/s, %.3f GFLOP of GEMM per iteration, %.1f GFLOPS achieved, "
           "%s on the device\n", r->samples_per_s, r->gemm_gflop, r->gflops, mem);
    if (r->peak_gflops > 0)
        printf("  peak: %.1f GFLOPS of fused multiply-adds measured; at that rate the GEMMs' work "
               "would take %.2f ms, %.0f%% of the median iteration\n", r->peak_gflops,
               r->gemm_gflop / r->peak_gflops * 1e3, 100 * r->gflops / r->peak_gflops);
    /* the parts an iteration may hold besides the loss's passes: their kernels' sums */
    static const char *const parts[][2] = {{"penalty: ", "gradient penalties' passes"},
                                           {"augment", "augmentation"}};
    for (size_t q = 0; q < ARRAY_LEN(parts); q++) {
        double s = 0;
        for (int k = 0; k < r->n_kernels; k++)
            if (strncmp(r->kernels[k].name, parts[q][0], strlen(parts[q][0])) == 0)
                s += r->kernels[k].seconds;
        if (s > 0)
            printf("  %s: %.3f ms per iteration, %.1f%% of the kernels' time\n", parts[q][1],
                   s * 1e3 / r->profiled_iters, 100 * s / r->profiled_s);
    }
    printf("  %-34s %7s %7s %9s %8s\n", "kernel", "share", "calls", "ms/iter", "GFLOPS");
    for (int k = 0; k < r->n_kernels; k++) {
        const clgan_kernel_stat *p = &r->kernels[k];
        char gf[16] = "";
        if (p->flops > 0) snprintf(gf, sizeof gf, "%.1f", p->flops / p->seconds * 1e-9);
        printf("  %-34s %6.1f%% %7.1f %9.3f %8s\n", p->name, 100 * p->seconds / r->profiled_s,
               (double)p->calls / r->profiled_iters, p->seconds * 1e3 / r->profiled_iters, gf);
    }
}

/* One device's result as JSON (cJSON: names escaped whatever a driver calls itself). */
static cJSON *json_result(const clgan_bench_result *r, const clgan_model_info *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "device", r->device.name);
    cJSON_AddStringToObject(o, "platform", r->device.platform_name);
    cJSON_AddStringToObject(o, "driver", r->device.driver_version);
    cJSON_AddNumberToObject(o, "cold_start_s", r->cold_start_s);
    cJSON_AddNumberToObject(o, "warm_start_s", r->warm_start_s);
    cJSON_AddNumberToObject(o, "median_ms", r->median_s * 1e3);
    cJSON_AddNumberToObject(o, "best_ms", r->min_s * 1e3);
    cJSON_AddNumberToObject(o, "samples_per_s", r->samples_per_s);
    cJSON_AddNumberToObject(o, "gemm_gflop_per_iter", r->gemm_gflop);
    cJSON_AddNumberToObject(o, "gflops", r->gflops);
    cJSON_AddNumberToObject(o, "peak_gflops", r->peak_gflops);
    cJSON_AddNumberToObject(o, "device_bytes", (double)r->device_bytes);
    cJSON_AddNumberToObject(o, "batch", m->batch);
    cJSON_AddNumberToObject(o, "k", m->k);
    cJSON *ks = cJSON_AddArrayToObject(o, "kernels");
    for (int k = 0; k < r->n_kernels; k++) {
        const clgan_kernel_stat *p = &r->kernels[k];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", p->name);
        cJSON_AddNumberToObject(x, "calls_per_iter", (double)p->calls / r->profiled_iters);
        cJSON_AddNumberToObject(x, "ms_per_iter", p->seconds * 1e3 / r->profiled_iters);
        cJSON_AddNumberToObject(x, "gflops", p->flops > 0 ? p->flops / p->seconds * 1e-9 : 0);
        cJSON_AddItemToArray(ks, x);
    }
    return o;
}

/*
 * --devices A,B, or under mpirun (c active, a device per rank): the model on the first device
 * alone (under mpirun, rank 0's, while the others wait), then on all of them at once.
 */
static int bench_several(const cli_opts *o, clgan_ranks *c, long iters, long warmup) {
    clgan_device **devs;
    const int ranks = clgan_ranks_size(c);
    int n, rc = ranks > 1 ? open_rank_device(o, c, &devs, &n) : open_device_list(o, &devs, &n);
    if (rc) {
        clgan_ranks_abort(c, rc);
        return rc;
    }
    const int lead = clgan_ranks_rank(c) == 0;
    clgan_model *m = load_model_shapes("bench", o->positional);
    if (!m) rc = 1;
    if (lead)
        printf("clgan bench: %s, %ld timed iterations after %ld warm-up, synthetic data\n",
               m ? clgan_model_name(m) : "", iters, warmup);
    clgan_bench_devices_result one, all;
    const char *why = NULL;
    if (!rc && lead && clgan_bench_devices(devs, 1, m, (int)iters, (int)warmup, NULL, &one) !=
                           CLGAN_OK)
        why = clgan_model_errmsg(m);
    if (!rc && !why && clgan_ranks_wait_all(c, "start after rank 0's one-device run") != CLGAN_OK)
        why = clgan_ranks_errmsg(c);
    if (!rc && !why && clgan_bench_devices(devs, n, m, (int)iters, (int)warmup,
                                           ranks > 1 ? c : NULL, &all) != CLGAN_OK)
        why = clgan_model_errmsg(m);
    if (why) {
        rc = 1;
        fprintf(stderr, "clgan bench%s: %s\n", ranks > 1 ? " (under mpirun)" : "", why);
    }
    if (rc) clgan_ranks_abort(c, rc);
    if (!rc && lead) {
        printf("  %s alone: median %.2f ms an iteration (best %.2f)\n",
               clgan_device_get_info(devs[0])->name, one.median_s * 1e3, one.min_s * 1e3);
        if (ranks > 1) {
            printf("  %d ranks (rank 0 on %s)", ranks, clgan_device_get_info(devs[0])->name);
        } else {
            printf("  %d devices (", n);
            for (int i = 0; i < n; i++)
                printf("%s%s", i ? " + " : "", clgan_device_get_info(devs[i])->name);
            printf(")");
        }
        printf(": median %.2f ms an iteration (best %.2f), %.2fx the one device\n",
               all.median_s * 1e3, all.min_s * 1e3, one.median_s / all.median_s);
        int mb = all.comm_bytes >= 1e6;
        printf("  gradient reductions: %.2f %s of gradients an iteration, in flight %.2f ms, of "
               "which %.2f ms after the passes ended (the wait): %.0f%% hidden behind the "
               "backward pass\n", all.comm_bytes / (mb ? 1e6 : 1e3), mb ? "MB" : "kB",
               all.comm_s * 1e3, all.exposed_s * 1e3, 100 * all.hidden);
    }
    for (int i = 0; i < n; i++) clgan_device_free(devs[i]);
    free(devs);
    clgan_model_free(m);
    return rc;
}

int cmd_bench(const cli_opts *o) {
    long iters = 20, warmup = 3;
    if (opt_long(o, "--iters", 1, 100000, &iters) < 0 || opt_long(o, "--warmup", 0, 100000, &warmup) < 0)
        return EXIT_USAGE;
    int all = opt_get(o, "--all-devices") != NULL;
    if (all && o->device) {
        fprintf(stderr, "clgan bench: --device and --all-devices conflict: give one\n");
        return EXIT_USAGE;
    }
    const char *json = opt_get(o, "--json");
    long timeout = 600;
    if (opt_long(o, "--comm-timeout", 1, 1L << 30, &timeout) < 0) return EXIT_USAGE;
    clgan_ranks *c;
    if (clgan_ranks_start(&c) != CLGAN_OK) {
        fprintf(stderr, "clgan bench: %s\n", clgan_ranks_errmsg(c));
        clgan_ranks_end(c);
        return 1;
    }
    clgan_ranks_set_timeout(c, (double)timeout);
    if (opt_get(o, "--devices") || clgan_ranks_size(c) > 1) {
        if (all || json) {
            fprintf(stderr, "clgan bench: %s runs alone: without %s\n",
                    clgan_ranks_size(c) > 1 ? "mpirun" : "--devices",
                    all ? "--all-devices" : "--json");
            clgan_ranks_end(c);
            return EXIT_USAGE;
        }
        int rc = bench_several((const cli_opts *)o, c, iters, warmup);
        clgan_ranks_end(c);
        return rc;
    }
    clgan_ranks_end(c);
    clgan_model *m = load_model_shapes("bench", o->positional);
    if (!m) return 1;
    clgan_model_info mi;
    clgan_model_get_info(m, &mi);
    char (*sels)[16] = NULL; /* "P:D" of every device */
    int ns = 0;
    if (all) {
        clgan_device_info *list;
        size_t n;
        char err[512];
        if (clgan_device_list(&list, &n, err, sizeof err) != CLGAN_OK) {
            fprintf(stderr, "clgan bench: %s\n", err);
            clgan_model_free(m);
            return 1;
        }
        sels = calloc(n ? n : 1, sizeof *sels);
        for (size_t i = 0; sels && i < n; i++)
            snprintf(sels[ns++], sizeof sels[0], "%d:%d", list[i].platform, list[i].index);
        clgan_device_list_free(list);
    }
    clgan_bench_result *res = calloc(all ? (size_t)ns : 1, sizeof *res);
    int n_res = 0, rc = 0;
    printf("clgan bench: %s, %ld timed iterations after %ld warm-up, synthetic data\n", mi.name,
           iters, warmup);
    for (int i = 0; i < (all ? ns : 1); i++) {
        if (clgan_bench(all ? sels[i] : o->device, m, (int)iters, (int)warmup, &res[n_res]) !=
            CLGAN_OK) {
            fprintf(stderr, "clgan bench: %s\n", clgan_model_errmsg(m));
            rc = 1;
            continue;
        }
        print_result(&res[n_res], &mi);
        n_res++;
    }
    if (n_res > 1) {
        printf("\n%-44s %12s %12s %10s %10s\n", "device", "ms/iter", "samples/s", "GFLOPS",
               "warm start");
        for (int i = 0; i < n_res; i++)
            printf("%-44.44s %12.2f %12.0f %10.1f %9.2fs\n", res[i].device.name,
                   res[i].median_s * 1e3, res[i].samples_per_s, res[i].gflops,
                   res[i].warm_start_s);
    }
    if (json && n_res > 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", mi.name);
        cJSON_AddNumberToObject(o, "iters", (double)iters);
        cJSON *rs = cJSON_AddArrayToObject(o, "results");
        for (int i = 0; i < n_res; i++) cJSON_AddItemToArray(rs, json_result(&res[i], &mi));
        char *text = cJSON_Print(o);
        cJSON_Delete(o);
        if (!text || write_text_atomic(json, text) != 0) {
            fprintf(stderr, "clgan bench: --json: %s\n", text ? json : "out of memory");
            rc = 1;
        }
        cJSON_free(text);
    }
    for (int i = 0; res && i < n_res; i++) clgan_bench_result_free(&res[i]);
    free(res);
    free(sels);
    clgan_model_free(m);
    return rc;
}
