/*
 * device.c - OpenCL platforms and devices, device selection, and the program cache.
 *
 * Program cache entry (one file per program, device, driver, source and options):
 *   "CLGANPB1" | u32 key_len | u32 crc32(binary) | u64 bin_len | key text | binary
 * The key text is compared in full and the CRC checked, so a corrupt, truncated or stale entry
 * is rebuilt from source and rewritten, never trusted. Entries are written atomically.
 */
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include "gemm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CACHE_MAGIC "CLGANPB1"
#define BUILD_OPTIONS "-cl-std=CL1.2"

static void get_str(cl_device_id d, cl_device_info what, char *out, size_t len) {
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, len, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[len - 1] = '\0';
    /* trim trailing blanks some drivers pad with */
    size_t n = strlen(out);
    while (n > 0 && isspace((unsigned char)out[n - 1])) out[--n] = '\0';
}

static void fill_info(cl_platform_id p, cl_device_id d, int pi, int di, clgan_device_info *info) {
    memset(info, 0, sizeof *info);
    info->platform = pi;
    info->index = di;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name,
                          NULL) != CL_SUCCESS)
        info->platform_name[0] = '\0';
    info->platform_name[sizeof info->platform_name - 1] = '\0';
    get_str(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    get_str(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    get_str(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    get_str(d, CL_DEVICE_VERSION, info->version, sizeof info->version);
    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    info->type = (t & CL_DEVICE_TYPE_GPU)           ? "GPU"
                 : (t & CL_DEVICE_TYPE_CPU)         ? "CPU"
                 : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "ACCELERATOR"
                                                    : "OTHER";
    cl_uint cu = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    info->compute_units = cu;
    cl_ulong mem = 0, alloc = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    info->global_mem = mem;
    info->max_alloc = alloc;
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp, &fp, NULL);
    info->fp64 = fp != 0;
    size_t elen = 0;
    info->fp16 = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &elen) == CL_SUCCESS && elen > 0) {
        char *ext = malloc(elen + 1);
        if (ext && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, elen, ext, NULL) == CL_SUCCESS) {
            ext[elen] = '\0';
            info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
        }
        free(ext);
    }
}

/* Every (platform, device) pair; ids arrays are malloc'd. */
static clgan_status enumerate(cl_platform_id **pids, cl_device_id **dids, clgan_device_info **infos,
                              size_t *count, clgan_err *e) {
    *pids = NULL;
    *dids = NULL;
    *infos = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    if (rc == -1001 || (rc == CL_SUCCESS && np == 0))
        return err_set(e, CLGAN_ERR_DEVICE,
                       "no OpenCL platform found: install a driver (on a CPU: apt-get install "
                       "pocl-opencl-icd) and check /etc/OpenCL/vendors");
    if (rc != CL_SUCCESS) return err_cl(e, rc, "clGetPlatformIDs", "listing OpenCL platforms");
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) return err_set(e, CLGAN_ERR_NOMEM, "out of memory listing platforms");
    clGetPlatformIDs(np, plats, NULL);
    size_t cap = 16, n = 0;
    cl_platform_id *pl = malloc(cap * sizeof *pl);
    cl_device_id *dv = malloc(cap * sizeof *dv);
    clgan_device_info *inf = malloc(cap * sizeof *inf);
    if (!pl || !dv || !inf) goto nomem;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0)
            continue;
        cl_device_id *ids = calloc(nd, sizeof *ids);
        if (!ids) goto nomem;
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL);
        for (cl_uint d = 0; d < nd; d++) {
            if (n == cap) {
                cap *= 2;
                cl_platform_id *a = realloc(pl, cap * sizeof *pl);
                if (a) pl = a;
                cl_device_id *b = realloc(dv, cap * sizeof *dv);
                if (b) dv = b;
                clgan_device_info *c = realloc(inf, cap * sizeof *inf);
                if (c) inf = c;
                if (!a || !b || !c) {
                    free(ids);
                    goto nomem;
                }
            }
            pl[n] = plats[p];
            dv[n] = ids[d];
            fill_info(plats[p], ids[d], (int)p, (int)d, &inf[n]);
            n++;
        }
        free(ids);
    }
    free(plats);
    if (n == 0) {
        free(pl);
        free(dv);
        free(inf);
        return err_set(e, CLGAN_ERR_DEVICE, "OpenCL platforms exist but expose no device");
    }
    *pids = pl;
    *dids = dv;
    *infos = inf;
    *count = n;
    return CLGAN_OK;
nomem:
    free(plats);
    free(pl);
    free(dv);
    free(inf);
    return err_set(e, CLGAN_ERR_NOMEM, "out of memory listing devices");
}

clgan_status clgan_device_list(clgan_device_info **out, size_t *n, char *err, size_t errlen) {
    clgan_err e;
    err_clear(&e);
    cl_platform_id *p;
    cl_device_id *d;
    clgan_status st = enumerate(&p, &d, out, n, &e);
    if (st != CLGAN_OK) {
        if (err && errlen) snprintf(err, errlen, "%s", e.msg);
        return st;
    }
    free(p);
    free(d);
    return CLGAN_OK;
}

void clgan_device_list_free(clgan_device_info *list) {
    free(list);
}

/*
 * The default: the GPU with the most compute units, else, on the first platform that has a
 * CPU device, its CPU device with the most (PoCL's pthread device before its one-unit basic
 * device, whatever POCL_DEVICES lists first; a second implementation of the same CPU, listed
 * later, is not taken for its count: rusticl's llvmpipe reports 8 units on 2 cores), ties to
 * the first listed.
 */
static long default_device(const clgan_device_info *inf, size_t n) {
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(inf[i].type, "GPU") == 0 &&
            (best < 0 || inf[i].compute_units > inf[best].compute_units))
            best = (long)i;
    if (best >= 0) return best;
    for (size_t i = 0; i < n; i++)
        if (strcmp(inf[i].type, "CPU") == 0 &&
            (best < 0 || (inf[i].platform == inf[best].platform &&
                          inf[i].compute_units > inf[best].compute_units)))
            best = (long)i;
    return best >= 0 ? best : 0;
}

/* Index of the device the selector names, or -1. */
static long select_device(const char *sel, const clgan_device_info *inf, size_t n) {
    if (!sel || !*sel) return default_device(inf, n);
    int p, d, used = 0;
    if (sscanf(sel, "%d:%d%n", &p, &d, &used) == 2 && sel[used] == '\0') {
        for (size_t i = 0; i < n; i++)
            if (inf[i].platform == p && inf[i].index == d) return (long)i;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (str_icontains(inf[i].name, sel)) return (long)i;
    return -1;
}

static void cache_dir_init(clgan_device *dev) {
    const char *env = getenv("CLGAN_CACHE_DIR");
    char *path = NULL;
    if (env && *env)
        path = str_dup(env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        path = str_fmt("%s/clgan", env);
    else if ((env = getenv("HOME")) && *env)
        path = str_fmt("%s/.cache/clgan", env);
    /* A cache that cannot be made only costs build time: run without one. */
    if (path && mkdir_p(path) != 0) path[0] = '\0';
    dev->cache_dir = path ? path : str_dup("");
}

clgan_status device_open(const char *selector, int profiling, clgan_device **out) {
    clgan_device *dev = calloc(1, sizeof *dev);
    *out = dev;
    if (!dev) return CLGAN_ERR_NOMEM;
    dev->profiling = profiling;
    const char *sel = selector;
    const char *from = "--device";
    if (!sel || !*sel) {
        sel = getenv("CLGAN_DEVICE");
        from = "CLGAN_DEVICE";
    }
    cl_platform_id *pids;
    cl_device_id *dids;
    clgan_device_info *inf;
    size_t n;
    clgan_status st = enumerate(&pids, &dids, &inf, &n, &dev->err);
    if (st != CLGAN_OK) return st;
    long i = select_device(sel, inf, n);
    if (i < 0) {
        char list[2048] = "";
        size_t used = 0;
        for (size_t k = 0; k < n && used < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "\n  %d:%d  %s  %s",
                                     inf[k].platform, inf[k].index, inf[k].type, inf[k].name);
        err_set(&dev->err, CLGAN_ERR_DEVICE, "%s: no OpenCL device matches '%s'; devices:%s", from,
                sel, list);
        free(pids);
        free(dids);
        free(inf);
        return CLGAN_ERR_DEVICE;
    }
    dev->info = inf[i];
    dev->platform = pids[i];
    dev->id = dids[i];
    free(pids);
    free(dids);
    free(inf);

    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    dev->ctx = clCreateContext(props, 1, &dev->id, NULL, NULL, &rc);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clCreateContext", "device '%s'", dev->info.name);
    dev->queue = clCreateCommandQueue(dev->ctx, dev->id, profiling ? CL_QUEUE_PROFILING_ENABLE : 0,
                                      &rc);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clCreateCommandQueue", "device '%s'", dev->info.name);
    cache_dir_init(dev);
    dev->programs = calloc(cl_sources_count, sizeof *dev->programs);
    if (!dev->cache_dir || !dev->programs)
        return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory opening '%s'", dev->info.name);
    dev->unit_kernels = strcmp(dev->info.type, "CPU") == 0;
    const char *conv = getenv("CLGAN_CONV");
    dev->conv_path = CONV_AUTO;
    if (conv && strcmp(conv, "implicit") == 0) dev->conv_path = CONV_IMPLICIT;
    else if (conv && strcmp(conv, "columns") == 0) dev->conv_path = CONV_COLUMNS;
    else if (conv && *conv && strcmp(conv, "auto") != 0)
        return err_set(&dev->err, CLGAN_ERR_ARG,
                       "CLGAN_CONV: expected 'auto', 'columns' or 'implicit', got '%s'", conv);
    return CLGAN_OK;
}

clgan_status clgan_device_open(const char *selector, clgan_device **out) {
    return device_open(selector, 0, out);
}

const char *clgan_device_errmsg(const clgan_device *dev) {
    return dev ? dev->err.msg : "out of memory";
}

const clgan_device_info *clgan_device_get_info(const clgan_device *dev) {
    return &dev->info;
}

void device_forget_programs(clgan_device *dev) {
    for (size_t i = 0; dev->programs && i < cl_sources_count; i++) {
        if (dev->programs[i]) clReleaseProgram(dev->programs[i]);
        dev->programs[i] = NULL;
    }
}

void clgan_device_free(clgan_device *dev) {
    if (!dev) return;
    if (dev->queue) clFinish(dev->queue);
    device_prof_reset(dev);
    free(dev->prof);
    gemm_release(dev);
    device_forget_programs(dev);
    if (dev->queue) clReleaseCommandQueue(dev->queue);
    if (dev->ctx) clReleaseContext(dev->ctx);
    free(dev->programs);
    free(dev->cache_dir);
    free(dev);
}

/* ---- programs and the binary cache ---------------------------------------------------------- */

static const cl_source *find_source(const char *file, int *index) {
    for (size_t i = 0; i < cl_sources_count; i++)
        if (strcmp(cl_sources[i].name, file) == 0) {
            if (index) *index = (int)i;
            return &cl_sources[i];
        }
    return NULL;
}

/* prelude + #line + file: what gets compiled. malloc'd. */
static char *full_source(const cl_source *src) {
    const cl_source *pre = find_source("cl/common.cl", NULL);
    size_t cap = (pre ? pre->len : 0) + src->len + 256;
    char *s = malloc(cap);
    if (!s) return NULL;
    snprintf(s, cap, "%s\n#line 1 \"%s\"\n%s", (pre && pre != src) ? pre->text : "", src->name,
             src->text);
    return s;
}

static void cache_key(clgan_device *dev, const char *file, const char *source,
                      const char *options, char *key, size_t keylen, uint64_t *h) {
    uint64_t sh = hash_fnv1a(HASH_FNV_INIT, source, strlen(source));
    snprintf(key, keylen,
             "clgan-program v1\nplatform=%s\ndevice=%s\nvendor=%s\ndriver=%s\nversion=%s\n"
             "file=%s\nsource=%016llx\noptions=%s\n",
             dev->info.platform_name, dev->info.name, dev->info.vendor, dev->info.driver_version,
             dev->info.version, file, (unsigned long long)sh, options);
    *h = hash_fnv1a(HASH_FNV_INIT, key, strlen(key));
}

void device_cache_path(clgan_device *dev, const char *file, char *out, size_t outlen) {
    out[0] = '\0';
    const cl_source *src = find_source(file, NULL);
    if (!src || !dev->cache_dir || !dev->cache_dir[0]) return;
    char *full = full_source(src);
    if (!full) return;
    char key[2048];
    uint64_t h;
    cache_key(dev, file, full, BUILD_OPTIONS, key, sizeof key, &h);
    free(full);
    snprintf(out, outlen, "%s/%016llx.bin", dev->cache_dir, (unsigned long long)h);
}

/* Loads a cache entry's binary if it is intact and its key matches; malloc'd or NULL. */
static unsigned char *cache_load(const char *path, const char *key, size_t *bin_len) {
    char *data;
    size_t len;
    if (file_read_all(path, (size_t)1 << 31, &data, &len, NULL) != CLGAN_OK) return NULL;
    size_t klen = strlen(key);
    unsigned char *bin = NULL;
    uint32_t key_len, crc;
    uint64_t blen;
    size_t hdr = 8 + 4 + 4 + 8;
    if (len < hdr || memcmp(data, CACHE_MAGIC, 8) != 0) goto done;
    memcpy(&key_len, data + 8, 4);
    memcpy(&crc, data + 12, 4);
    memcpy(&blen, data + 16, 8);
    if (key_len != klen || len != hdr + key_len + blen || blen == 0) goto done;
    if (memcmp(data + hdr, key, klen) != 0) goto done;
    const unsigned char *b = (const unsigned char *)data + hdr + klen;
    if ((uint32_t)crc32(0L, b, (uInt)blen) != crc) goto done;
    bin = malloc(blen);
    if (bin) {
        memcpy(bin, b, blen);
        *bin_len = blen;
    }
done:
    free(data);
    return bin;
}

static void cache_store(const char *path, const char *key, cl_program prog) {
    size_t blen = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof blen, &blen, NULL) != CL_SUCCESS ||
        blen == 0)
        return;
    size_t klen = strlen(key), hdr = 24;
    unsigned char *buf = malloc(hdr + klen + blen);
    if (!buf) return;
    unsigned char *bin = buf + hdr + klen;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(buf);
        return;
    }
    uint32_t kl = (uint32_t)klen, crc = (uint32_t)crc32(0L, bin, (uInt)blen);
    uint64_t bl = blen;
    memcpy(buf, CACHE_MAGIC, 8);
    memcpy(buf + 8, &kl, 4);
    memcpy(buf + 12, &crc, 4);
    memcpy(buf + 16, &bl, 8);
    memcpy(buf + hdr, key, klen);
    file_write_atomic(path, buf, hdr + klen + blen, NULL); /* a failed store costs a rebuild */
    free(buf);
}

static clgan_status build_failed(clgan_device *dev, cl_program prog, const char *file, cl_int rc) {
    size_t loglen = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &loglen) ==
            CL_SUCCESS &&
        loglen > 0 && (log = malloc(loglen + 1))) {
        clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, loglen, log, NULL);
        log[loglen] = '\0';
    }
    err_set(&dev->err, CLGAN_ERR_BUILD, "building %s for '%s': %s\n%s", file, dev->info.name,
            cl_errstr(rc), log ? log : "(no build log)");
    free(log);
    return CLGAN_ERR_BUILD;
}

static clgan_status build_with(clgan_device *dev, const char *file, const char *source,
                               const char *options, cl_program *out) {
    cl_int rc;
    *out = clCreateProgramWithSource(dev->ctx, 1, &source, NULL, &rc);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clCreateProgramWithSource", "building %s", file);
    rc = clBuildProgram(*out, 1, &dev->id, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        build_failed(dev, *out, file, rc);
        clReleaseProgram(*out);
        *out = NULL;
        return CLGAN_ERR_BUILD;
    }
    return CLGAN_OK;
}

clgan_status device_build_source(clgan_device *dev, const char *file, const char *source,
                                 cl_program *out) {
    return build_with(dev, file, source, BUILD_OPTIONS, out);
}

/* The program of `file` built with BUILD_OPTIONS plus `defines`, from the cache when it can. */
static clgan_status load_or_build(clgan_device *dev, const char *file, const char *defines,
                                  cl_program *out) {
    const cl_source *src = find_source(file, NULL);
    if (!src) return err_set(&dev->err, CLGAN_ERR_ARG, "no embedded kernel source '%s'", file);
    char options[512];
    snprintf(options, sizeof options, "%s%s%s", BUILD_OPTIONS, defines[0] ? " " : "", defines);
    char *full = full_source(src);
    if (!full) return err_set(&dev->err, CLGAN_ERR_NOMEM, "out of memory building %s", file);
    char key[2048], *path = NULL;
    uint64_t h;
    cache_key(dev, file, full, options, key, sizeof key, &h);
    if (dev->cache_dir && dev->cache_dir[0])
        path = str_fmt("%s/%016llx.bin", dev->cache_dir, (unsigned long long)h);

    cl_int rc;
    cl_program prog = NULL;
    if (path) {
        size_t blen = 0;
        unsigned char *bin = cache_load(path, key, &blen);
        if (bin) {
            const unsigned char *bp = bin;
            cl_int bstat;
            prog = clCreateProgramWithBinary(dev->ctx, 1, &dev->id, &blen, &bp, &bstat, &rc);
            free(bin);
            if (rc == CL_SUCCESS && bstat == CL_SUCCESS &&
                clBuildProgram(prog, 1, &dev->id, options, NULL, NULL) == CL_SUCCESS) {
                dev->stats.loaded++;
            } else {
                if (prog) clReleaseProgram(prog);
                prog = NULL;
                dev->stats.rejected++;
            }
        } else {
            if (access(path, F_OK) == 0) dev->stats.rejected++; /* present but unusable */
        }
    }
    if (!prog) {
        clgan_status st = build_with(dev, file, full, options, &prog);
        if (st != CLGAN_OK) {
            free(full);
            free(path);
            return st;
        }
        dev->stats.built++;
        if (path) cache_store(path, key, prog);
    }
    free(full);
    free(path);
    *out = prog;
    return CLGAN_OK;
}

clgan_status device_program(clgan_device *dev, const char *file, cl_program *out) {
    int idx;
    if (!find_source(file, &idx) || !dev->programs)
        return err_set(&dev->err, CLGAN_ERR_ARG, "no embedded kernel source '%s'", file);
    if (!dev->programs[idx]) {
        clgan_status st = load_or_build(dev, file, "", &dev->programs[idx]);
        if (st != CLGAN_OK) return st;
    }
    *out = dev->programs[idx];
    return CLGAN_OK;
}

clgan_status device_program_defines(clgan_device *dev, const char *file, const char *defines,
                                    cl_program *out) {
    return load_or_build(dev, file, defines, out);
}

clgan_status device_create_kernels(clgan_device *dev, cl_program prog, const char *file,
                                   const char *defines, const char *const *names,
                                   cl_kernel *const *out, int n) {
    for (int i = 0; i < n; i++) {
        cl_int rc;
        *out[i] = clCreateKernel(prog, names[i], &rc);
        if (rc != CL_SUCCESS)
            return err_cl(&dev->err, rc, "clCreateKernel", "kernel '%s' of %s (%s)", names[i],
                          file, defines);
    }
    return CLGAN_OK;
}

clgan_status device_kernel(clgan_device *dev, const char *file, const char *name, cl_kernel *out) {
    cl_program prog;
    clgan_status st = device_program(dev, file, &prog);
    if (st != CLGAN_OK) return st;
    cl_int rc;
    *out = clCreateKernel(prog, name, &rc);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clCreateKernel", "kernel '%s' of %s", name, file);
    return CLGAN_OK;
}

/* ---- memory and launches ------------------------------------------------------------------- */

clgan_status device_alloc(clgan_device *dev, size_t bytes, const char *what, cl_mem *out) {
    *out = NULL;
    if (bytes == 0) bytes = 4;
    if (bytes > dev->info.max_alloc) {
        char need[32], max[32];
        human_bytes((double)bytes, need, sizeof need);
        human_bytes((double)dev->info.max_alloc, max, sizeof max);
        return err_set(&dev->err, CLGAN_ERR_CL,
                       "device '%s': %s needs %s (%zu bytes) in one buffer, more than "
                       "CL_DEVICE_MAX_MEM_ALLOC_SIZE = %s (%llu bytes)",
                       dev->info.name, what, need, bytes, max,
                       (unsigned long long)dev->info.max_alloc);
    }
    cl_int rc;
    *out = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clCreateBuffer", "device '%s': allocating %zu bytes for %s",
                      dev->info.name, bytes, what);
    dev->mem_allocated += bytes;
    if (dev->mem_allocated > dev->mem_peak) dev->mem_peak = dev->mem_allocated;
    return CLGAN_OK;
}

void device_release(clgan_device *dev, cl_mem buf) {
    if (!buf) return;
    size_t bytes = 0;
    if (clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) == CL_SUCCESS &&
        bytes <= dev->mem_allocated)
        dev->mem_allocated -= bytes;
    clReleaseMemObject(buf);
}

clgan_status device_write(clgan_device *dev, cl_mem buf, size_t off, size_t bytes, const void *src,
                          int blocking) {
    if (bytes == 0) return CLGAN_OK;
    cl_int rc = clEnqueueWriteBuffer(dev->queue, buf, blocking ? CL_TRUE : CL_FALSE, off, bytes,
                                     src, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clEnqueueWriteBuffer", "device '%s'", dev->info.name);
    return CLGAN_OK;
}

clgan_status device_read(clgan_device *dev, cl_mem buf, size_t off, size_t bytes, void *dst) {
    if (bytes == 0) return CLGAN_OK;
    cl_int rc = clEnqueueReadBuffer(dev->queue, buf, CL_TRUE, off, bytes, dst, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clEnqueueReadBuffer", "device '%s'", dev->info.name);
    return CLGAN_OK;
}

clgan_status device_read_start(clgan_device *dev, cl_mem buf, size_t off, size_t bytes,
                               void *dst, cl_event *ev) {
    cl_int rc = clEnqueueReadBuffer(dev->queue, buf, CL_FALSE, off, bytes, dst, 0, NULL, ev);
    if (rc == CL_SUCCESS) rc = clFlush(dev->queue);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clEnqueueReadBuffer", "device '%s'", dev->info.name);
    return CLGAN_OK;
}

clgan_status device_event_done(clgan_device *dev, cl_event ev, int *done) {
    cl_int status;
    cl_int rc = clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                               NULL);
    if (rc == CL_SUCCESS && status < 0) rc = status;
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "a read of the gradients", "device '%s'", dev->info.name);
    *done = status == CL_COMPLETE;
    return CLGAN_OK;
}

clgan_status device_fill(clgan_device *dev, cl_mem buf, size_t off, size_t bytes) {
    if (bytes == 0) return CLGAN_OK;
    float zero = 0.0f;
    cl_int rc = clEnqueueFillBuffer(dev->queue, buf, &zero, sizeof zero, off, bytes, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clEnqueueFillBuffer", "device '%s'", dev->info.name);
    return CLGAN_OK;
}

clgan_status device_finish(clgan_device *dev) {
    cl_int rc = clFinish(dev->queue);
    if (rc != CL_SUCCESS) return err_cl(&dev->err, rc, "clFinish", "device '%s'", dev->info.name);
    return CLGAN_OK;
}

#define LOCAL_1D 64

cl_event *device_prof_event(clgan_device *dev, const char *name, double flops) {
    if (!dev->profiling) return NULL;
    if (dev->n_prof == dev->cap_prof) {
        int cap = dev->cap_prof ? dev->cap_prof * 2 : 1024;
        prof_event *p = realloc(dev->prof, (size_t)cap * sizeof *p);
        if (!p) return NULL; /* profiling is best effort */
        dev->prof = p;
        dev->cap_prof = cap;
    }
    prof_event *e = &dev->prof[dev->n_prof++];
    e->ev = NULL;
    snprintf(e->name, sizeof e->name, "%s%s%s", dev->prof_part ? dev->prof_part : "",
             dev->prof_part ? ": " : "", name);
    e->flops = flops;
    return &e->ev;
}

void device_prof_reset(clgan_device *dev) {
    for (int i = 0; i < dev->n_prof; i++)
        if (dev->prof[i].ev) clReleaseEvent(dev->prof[i].ev);
    dev->n_prof = 0;
}

static int cmp_prof(const void *a, const void *b) {
    const prof_stat *x = a, *y = b;
    return x->seconds < y->seconds ? 1 : x->seconds > y->seconds ? -1 : 0;
}

int device_prof_collect(clgan_device *dev, prof_stat **out) {
    int n = 0, cap = 0;
    prof_stat *stats = NULL;
    *out = NULL;
    clFinish(dev->queue);
    for (int i = 0; i < dev->n_prof; i++) {
        prof_event *e = &dev->prof[i];
        cl_ulong t0 = 0, t1 = 0;
        if (!e->ev || clGetEventProfilingInfo(e->ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0,
                                              NULL) != CL_SUCCESS ||
            clGetEventProfilingInfo(e->ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) !=
                CL_SUCCESS)
            continue;
        int k = 0;
        while (k < n && strcmp(stats[k].name, e->name) != 0) k++;
        if (k == n) {
            if (n == cap) {
                int nc = cap ? 2 * cap : 64;
                prof_stat *v = realloc(stats, (size_t)nc * sizeof *v);
                if (!v) break; /* out of memory: the profile is what it has so far */
                stats = v;
                cap = nc;
            }
            memset(&stats[n], 0, sizeof stats[n]);
            snprintf(stats[n].name, sizeof stats[n].name, "%s", e->name);
            n++;
        }
        stats[k].calls++;
        stats[k].seconds += (double)(t1 - t0) * 1e-9;
        stats[k].flops += e->flops;
    }
    device_prof_reset(dev);
    if (n) qsort(stats, (size_t)n, sizeof *stats, cmp_prof);
    *out = stats;
    return n;
}

static clgan_status enqueue(clgan_device *dev, cl_kernel k, cl_uint dims, const size_t *global,
                            const size_t *local, const char *name, double flops) {
    cl_int rc = clEnqueueNDRangeKernel(dev->queue, k, dims, NULL, global, local, 0, NULL,
                                       device_prof_event(dev, name, flops));
    if (rc != CL_SUCCESS)
        return err_cl(&dev->err, rc, "clEnqueueNDRangeKernel", "kernel '%s' on '%s'", name,
                      dev->info.name);
    return CLGAN_OK;
}

clgan_status device_run1d(clgan_device *dev, cl_kernel k, size_t n, const char *name) {
    if (n == 0) return CLGAN_OK;
    size_t local = LOCAL_1D, global = (n + local - 1) / local * local;
    return enqueue(dev, k, 1, &global, &local, name, 0);
}

clgan_status device_run_group(clgan_device *dev, cl_kernel k, size_t local, const char *name) {
    return enqueue(dev, k, 1, &local, &local, name, 0);
}

clgan_status device_run2d(clgan_device *dev, cl_kernel k, size_t n0, size_t n1, const char *name) {
    if (n0 == 0 || n1 == 0) return CLGAN_OK;
    size_t local[2] = {16, 4};
    size_t global[2] = {(n0 + 15) / 16 * 16, (n1 + 3) / 4 * 4};
    return enqueue(dev, k, 2, global, local, name, 0);
}

clgan_status device_run_nd(clgan_device *dev, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, const char *name, double flops) {
    return enqueue(dev, k, dims, global, local, name, flops);
}

clgan_status device_set_args(clgan_device *dev, cl_kernel k, const char *name, const karg *args,
                             int n) {
    for (int i = 0; i < n; i++) {
        cl_int rc = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
        if (rc != CL_SUCCESS)
            return err_cl(&dev->err, rc, "clSetKernelArg", "kernel '%s' argument %d", name, i);
    }
    return CLGAN_OK;
}
