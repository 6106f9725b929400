/*
 * common.h - internals shared by every module: the error record kept on handles, OpenCL error
 * names, hashing and small file helpers. Private to the library and its tests.
 */
#ifndef CLGAN_COMMON_H
#define CLGAN_COMMON_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "clgan.h"

#define CLGAN_MSG_MAX 4096

/* The error record a handle carries (sqlite style): the last status and its message. */
typedef struct clgan_err {
    clgan_status status;
    char msg[CLGAN_MSG_MAX];
} clgan_err;

/* The git revision the library was built from (version.c, generated at build time). */
extern const char clgan_git_revision[];

/* Records status and a printf-style message; returns status so callers can `return err_set(..)`. */
clgan_status err_set(clgan_err *e, clgan_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a failed OpenCL call: "<context>: <call> failed: CL_... (code)". */
clgan_status err_cl(clgan_err *e, cl_int code, const char *call, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void err_clear(clgan_err *e);

/* The symbolic name of an OpenCL (or CLBlast) status code, e.g. "CL_OUT_OF_RESOURCES". */
const char *cl_errstr(cl_int code);

/* FNV-1a, 64 bit: keys the program cache; not cryptographic. */
uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len);
#define HASH_FNV_INIT 0xcbf29ce484222325ULL

/*
 * Opens path for reading if it is a regular file: a FIFO, a device (/dev/zero), a socket or a
 * directory is refused with a message naming the path and what it is, without blocking (a FIFO
 * is opened non-blocking to look at it). *fd gets the descriptor (the caller closes it), *size
 * (may be NULL) the file's size.
 */
clgan_status file_open_regular(const char *path, int *fd, size_t *size, clgan_err *e);

/*
 * Reads a whole regular file (file_open_regular) of at most max_bytes into a NUL-terminated
 * malloc'd buffer. Returns CLGAN_ERR_IO with a message naming the path on failure (missing,
 * unreadable, not a regular file, over max_bytes, changed while read).
 */
clgan_status file_read_all(const char *path, size_t max_bytes, char **out, size_t *len,
                           clgan_err *e);

/*
 * Writes data to path atomically: path.tmp is written, flushed, fsync'd and renamed over path,
 * so an existing file is never left half-written. An existing path that is not a regular file
 * (a FIFO, a device, a directory) is refused, never replaced.
 */
clgan_status file_write_atomic(const char *path, const void *data, size_t len, clgan_err *e);

/* mkdir -p; 0 on success, -1 with errno set (ENOTDIR when path exists but is no directory). */
int mkdir_p(const char *path);

/* printf into a malloc'd string (NULL when memory runs out). */
char *str_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A malloc'd copy of s (NULL for NULL or when memory runs out). */
char *str_dup(const char *s);
/*
 * The absolute form of path (malloc'd): realpath() when it exists, else the working directory
 * joined with it. NULL when memory runs out.
 */
char *path_absolute(const char *path);

/* "1.5 GiB": bytes in the largest binary unit that keeps the figure at least 1. */
void human_bytes(double bytes, char *out, size_t len);

/* The median of n values (sorts them in place). */
double median(double *v, int n);

/* 1 if the n floats at v are all finite (no NaN or Inf). */
int floats_finite(const float *v, size_t n);

/* A monotonic clock in seconds, for timings. */
double clock_seconds(void);

/* Case-insensitive substring test. */
int str_icontains(const char *hay, const char *needle);

#define CLGAN_PI 3.14159265358979323846

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* CLGAN_COMMON_H */
