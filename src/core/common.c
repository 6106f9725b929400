/*
 * common.c - error records, OpenCL error names, hashing and file helpers.
 */
#define _XOPEN_SOURCE 700
#include "common.h"

#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *clgan_status_str(clgan_status status) {
    switch (status) {
    case CLGAN_OK: return "ok";
    case CLGAN_ERR_NOMEM: return "out of memory";
    case CLGAN_ERR_IO: return "i/o error";
    case CLGAN_ERR_YAML: return "model file error";
    case CLGAN_ERR_MODEL: return "model error";
    case CLGAN_ERR_DEVICE: return "device error";
    case CLGAN_ERR_CL: return "OpenCL error";
    case CLGAN_ERR_BUILD: return "kernel build error";
    case CLGAN_ERR_DATA: return "data error";
    case CLGAN_ERR_ARG: return "bad argument";
    case CLGAN_ERR_NONFINITE: return "not finite";
    case CLGAN_STOPPED: return "stopped";
    }
    return "unknown status";
}

clgan_status err_set(clgan_err *e, clgan_status status, const char *fmt, ...) {
    if (!e) return status;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof e->msg) { /* a long build log: say where it was cut, never cut silently */
        char tail[64];
        int t = snprintf(tail, sizeof tail, "\n[... %d more bytes not shown]",
                         n - (int)sizeof e->msg + 1);
        memcpy(e->msg + sizeof e->msg - 1 - t, tail, (size_t)t + 1);
    }
    e->status = status;
    return status;
}

clgan_status err_cl(clgan_err *e, cl_int code, const char *call, const char *fmt, ...) {
    if (!e) return CLGAN_ERR_CL;
    char ctx[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(e->msg, sizeof e->msg, "%s: %s failed: %s (%d)", ctx, call, cl_errstr(code), (int)code);
    e->status = CLGAN_ERR_CL;
    return CLGAN_ERR_CL;
}

void err_clear(clgan_err *e) {
    e->status = CLGAN_OK;
    e->msg[0] = '\0';
}

const char *cl_errstr(cl_int code) {
    switch (code) {
#define C(x) case x: return #x;
    C(CL_SUCCESS) C(CL_DEVICE_NOT_FOUND) C(CL_DEVICE_NOT_AVAILABLE) C(CL_COMPILER_NOT_AVAILABLE)
    C(CL_MEM_OBJECT_ALLOCATION_FAILURE) C(CL_OUT_OF_RESOURCES) C(CL_OUT_OF_HOST_MEMORY)
    C(CL_PROFILING_INFO_NOT_AVAILABLE) C(CL_MEM_COPY_OVERLAP) C(CL_IMAGE_FORMAT_MISMATCH)
    C(CL_IMAGE_FORMAT_NOT_SUPPORTED) C(CL_BUILD_PROGRAM_FAILURE) C(CL_MAP_FAILURE)
    C(CL_MISALIGNED_SUB_BUFFER_OFFSET) C(CL_COMPILE_PROGRAM_FAILURE) C(CL_LINKER_NOT_AVAILABLE)
    C(CL_LINK_PROGRAM_FAILURE) C(CL_DEVICE_PARTITION_FAILED) C(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    C(CL_INVALID_VALUE) C(CL_INVALID_DEVICE_TYPE) C(CL_INVALID_PLATFORM) C(CL_INVALID_DEVICE)
    C(CL_INVALID_CONTEXT) C(CL_INVALID_QUEUE_PROPERTIES) C(CL_INVALID_COMMAND_QUEUE)
    C(CL_INVALID_HOST_PTR) C(CL_INVALID_MEM_OBJECT) C(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    C(CL_INVALID_IMAGE_SIZE) C(CL_INVALID_SAMPLER) C(CL_INVALID_BINARY) C(CL_INVALID_BUILD_OPTIONS)
    C(CL_INVALID_PROGRAM) C(CL_INVALID_PROGRAM_EXECUTABLE) C(CL_INVALID_KERNEL_NAME)
    C(CL_INVALID_KERNEL_DEFINITION) C(CL_INVALID_KERNEL) C(CL_INVALID_ARG_INDEX)
    C(CL_INVALID_ARG_VALUE) C(CL_INVALID_ARG_SIZE) C(CL_INVALID_KERNEL_ARGS)
    C(CL_INVALID_WORK_DIMENSION) C(CL_INVALID_WORK_GROUP_SIZE) C(CL_INVALID_WORK_ITEM_SIZE)
    C(CL_INVALID_GLOBAL_OFFSET) C(CL_INVALID_EVENT_WAIT_LIST) C(CL_INVALID_EVENT)
    C(CL_INVALID_OPERATION) C(CL_INVALID_GL_OBJECT) C(CL_INVALID_BUFFER_SIZE)
    C(CL_INVALID_MIP_LEVEL) C(CL_INVALID_GLOBAL_WORK_SIZE) C(CL_INVALID_PROPERTY)
    C(CL_INVALID_IMAGE_DESCRIPTOR) C(CL_INVALID_COMPILER_OPTIONS) C(CL_INVALID_LINKER_OPTIONS)
    C(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef C
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    /* CLBlast's own codes (clblast_c.h) */
    case -1024: return "CLBlastNotImplemented";
    case -2048: return "CLBlastInvalidMatrixA";
    case -2047: return "CLBlastInvalidMatrixB";
    case -2046: return "CLBlastInvalidMatrixC";
    case -2045: return "CLBlastInvalidVectorX";
    case -2044: return "CLBlastInvalidVectorY";
    case -2043: return "CLBlastInvalidDimension";
    case -2042: return "CLBlastInvalidLeadDimA";
    case -2041: return "CLBlastInvalidLeadDimB";
    case -2040: return "CLBlastInvalidLeadDimC";
    case -2039: return "CLBlastInvalidIncrementX";
    case -2038: return "CLBlastInvalidIncrementY";
    case -2037: return "CLBlastInsufficientMemoryA";
    case -2036: return "CLBlastInsufficientMemoryB";
    case -2035: return "CLBlastInsufficientMemoryC";
    case -2034: return "CLBlastInsufficientMemoryX";
    case -2033: return "CLBlastInsufficientMemoryY";
    case -2032: return "CLBlastInsufficientMemoryTemp";
    case -2031: return "CLBlastInvalidBatchCount";
    case -2030: return "CLBlastInvalidOverrideKernel";
    case -2029: return "CLBlastMissingOverrideParameter";
    case -2028: return "CLBlastInvalidLocalMemUsage";
    case -2027: return "CLBlastNoHalfPrecision";
    case -2026: return "CLBlastNoDoublePrecision";
    case -2025: return "CLBlastInvalidVectorScalar";
    case -2024: return "CLBlastInsufficientMemoryScalar";
    case -2023: return "CLBlastDatabaseError";
    case -2022: return "CLBlastUnknownError";
    case -2021: return "CLBlastUnexpectedError";
    }
    return "unknown OpenCL error";
}

uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Why a path is not a file clgan reads: "a FIFO", "a directory", ... */
static const char *kind_of(mode_t mode) {
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

clgan_status file_open_regular(const char *path, int *fd_out, size_t *size, clgan_err *e) {
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int er = errno;
        close(fd);
        return err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(er));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, CLGAN_ERR_IO, "%s: is %s, expected a regular file", path,
                       kind_of(st.st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *fd_out = fd;
    if (size) *size = (size_t)st.st_size;
    return CLGAN_OK;
}

clgan_status file_read_all(const char *path, size_t max_bytes, char **out, size_t *len,
                           clgan_err *e) {
    *out = NULL;
    if (len) *len = 0;
    int fd;
    size_t size;
    clgan_status rc = file_open_regular(path, &fd, &size, e);
    if (rc != CLGAN_OK) return rc;
    if (size > max_bytes) {
        close(fd);
        return err_set(e, CLGAN_ERR_IO, "%s: %zu bytes, more than the %zu this file may have",
                       path, size, max_bytes);
    }
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    /* Exactly the size fstat gave: a file that grows while it is read is a file being written. */
    size_t n = 0;
    while (n < size) {
        ssize_t got = read(fd, buf + n, size - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            int er = got < 0 ? errno : 0;
            free(buf);
            close(fd);
            return er ? err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(er))
                      : err_set(e, CLGAN_ERR_IO, "%s: shrank while being read (being written?)",
                                path);
        }
        n += (size_t)got;
    }
    char extra;
    ssize_t more;
    while ((more = read(fd, &extra, 1)) < 0 && errno == EINTR) {
    }
    close(fd);
    if (more != 0) {
        free(buf);
        return err_set(e, CLGAN_ERR_IO, "%s: grew while being read (being written?)", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return CLGAN_OK;
}

clgan_status file_write_atomic(const char *path, const void *data, size_t len, clgan_err *e) {
    struct stat old;
    /* rename() would replace a FIFO, a device or a directory's entry with a plain file */
    if (stat(path, &old) == 0 && !S_ISREG(old.st_mode))
        return err_set(e, CLGAN_ERR_IO, "%s: is %s; clgan writes only regular files", path,
                       kind_of(old.st_mode));
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return err_set(e, CLGAN_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        err_set(e, CLGAN_ERR_IO, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return CLGAN_ERR_IO;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    free(tmp);
    return CLGAN_OK;
fail:
    err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return CLGAN_ERR_IO;
}

int mkdir_p(const char *path) {
    size_t n = strlen(path);
    if (n == 0) return -1;
    char *buf = malloc(n + 1);
    if (!buf) return -1;
    memcpy(buf, path, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) rc = -1;
            buf[i] = c;
        }
    }
    if (rc == 0) { /* the last component must be a directory, not a file of that name */
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = -1;
        } else if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            rc = -1;
        }
    }
    free(buf);
    return rc;
}

char *str_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *str_dup(const char *s) {
    return s ? str_fmt("%s", s) : NULL;
}

char *path_absolute(const char *path) {
    char *real = realpath(path, NULL);
    if (real) return real;
    if (path[0] == '/') return str_dup(path);
    char *cwd = getcwd(NULL, 0);
    if (!cwd) return str_dup(path);
    char *p = str_fmt("%s/%s", cwd, path);
    free(cwd);
    return p;
}

void human_bytes(double b, char *out, size_t len) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024.0 && i < 5) {
        b /= 1024.0;
        i++;
    }
    snprintf(out, len, i == 0 ? "%.0f %s" : "%.1f %s", b, u[i]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double median(double *v, int n) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int floats_finite(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

double clock_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int str_icontains(const char *hay, const char *needle) {
    size_t nl = strlen(needle);
    if (nl == 0) return 1;
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < nl && h[i] &&
               tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl) return 1;
    }
    return 0;
}

void clgan_format_bytes(double bytes, char *out, size_t len) {
    human_bytes(bytes, out, len);
}

const char *clgan_version(void) {
    return CLGAN_VERSION;
}

const char *clgan_build_revision(void) {
    return clgan_git_revision;
}

const char *clgan_clblast_version(void) {
    return CLGAN_CLBLAST_VERSION;
}
