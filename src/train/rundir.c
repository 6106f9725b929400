/*
 * rundir.c - see rundir.h. Owns the lock and log descriptors of one run directory.
 */
#define _XOPEN_SOURCE 700
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *join(const char *dir, const char *name) {
    return str_fmt("%s/%s", dir, name);
}

char *rundir_of_checkpoint(const char *ckpt_path) {
    const char *slash = strrchr(ckpt_path, '/');
    if (!slash) return str_dup(".");
    if (slash == ckpt_path) return str_dup("/");
    char *dir = str_fmt("%.*s", (int)(slash - ckpt_path), ckpt_path);
    if (!dir) return NULL;
    /* <run>/checkpoints/iter_N.safetensors belongs to <run> when <run> holds a run */
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    if (strcmp(base, "checkpoints") == 0) {
        char *parent = base == dir ? str_dup(".") : str_fmt("%.*s", (int)(base - 1 - dir), dir);
        if (parent && !parent[0]) {
            free(parent);
            parent = str_dup("/");
        }
        if (parent && rundir_has_run(parent)) {
            free(dir);
            return parent;
        }
        free(parent);
    }
    return dir;
}

int rundir_has_run(const char *path) {
    static const char *const files[] = {"log.csv", "checkpoint.safetensors", "config.yaml"};
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        char *p = join(path, files[i]);
        int there = p && access(p, F_OK) == 0;
        free(p);
        if (there) return 1;
    }
    return 0;
}

void rundir_read_id(const char *path, char id[17], int *known) {
    *known = 0;
    id[0] = '\0';
    char *p = join(path, "config.yaml"), *text = NULL;
    size_t len;
    if (p && file_read_all(p, 1 << 24, &text, &len, NULL) == CLGAN_OK &&
        strncmp(text, "# run_id: ", 10) == 0 && len >= 26 &&
        strspn(text + 10, "0123456789abcdef") == 16 && (text[26] == '\n' || text[26] == '\0')) {
        memcpy(id, text + 10, 16);
        id[16] = '\0';
        *known = 1;
    }
    free(text);
    free(p);
}

void rundir_new_id(char id[17]) {
    uint64_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec << 20 ^ (uint64_t)getpid();
    }
    if (fd >= 0) close(fd);
    snprintf(id, 17, "%016llx", (unsigned long long)v);
}

clgan_status rundir_lock(rundir *r, const char *path, clgan_err *e) {
    r->path = str_dup(path);
    r->lock_fd = r->log_fd = -1;
    if (!r->path) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    struct stat st;
    r->created = stat(path, &st) != 0;
    if (mkdir_p(path) != 0) return err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(errno));
    char *lp = join(path, ".lock");
    if (!lp) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_set(e, CLGAN_ERR_IO, "%s: %s", lp, strerror(errno));
        free(lp);
        return CLGAN_ERR_IO;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int er = errno;
        if (er == EACCES || er == EAGAIN) {
            char holder[256] = "";
            ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            struct flock q = fl;
            int pid = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (int)q.l_pid : 0;
            close(fd);
            free(lp);
            if (holder[0])
                return err_set(e, CLGAN_ERR_IO, "%s is in use by another run (%s); wait for it to "
                               "end or choose another --out", path, holder);
            return err_set(e, CLGAN_ERR_IO, "%s is in use by another run (pid %d); wait for it to "
                           "end or choose another --out", path, pid);
        }
        /* a file system without locks (some network mounts): run unlocked rather than not */
        close(fd);
        free(lp);
        return CLGAN_OK;
    }
    free(lp);
    r->lock_fd = fd;
    char host[128] = "?", when[64] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    char *who = str_fmt("clgan train, pid %d on %s, since %s\n", (int)getpid(), host, when);
    if (who && ftruncate(fd, 0) == 0 && pwrite(fd, who, strlen(who), 0) < 0) {
        /* the record is only for the message a second run gets: the lock itself holds */
    }
    free(who);
    return CLGAN_OK;
}

/* The iteration a log row starts with, or -1 if the row does not start with one. */
static long long row_iter(const char *row, const char *end) {
    long long v = 0;
    const char *p = row;
    while (p < end && *p >= '0' && *p <= '9' && v < (1LL << 50)) v = v * 10 + (*p++ - '0');
    return p > row && p < end && *p == ',' ? v : -1;
}

clgan_status rundir_log_open(rundir *r, const char *header, int keep, uint64_t keep_upto,
                             clgan_err *e) {
    char *path = join(r->path, "log.csv"), *old = NULL;
    if (!path) return err_set(e, CLGAN_ERR_NOMEM, "out of memory");
    size_t len = 0, cut = 0;
    clgan_status st = CLGAN_OK;
    if (keep && file_read_all(path, SIZE_MAX, &old, &len, NULL) == CLGAN_OK &&
        strncmp(old, header, strlen(header)) == 0) {
        /* keep the header and the rows up to keep_upto; drop the rest and a torn last row */
        cut = strlen(header);
        for (;;) {
            const char *row = old + cut, *nl = memchr(row, '\n', len - cut);
            if (!nl) break;
            long long it = row_iter(row, nl);
            if (it < 0 || (uint64_t)it > keep_upto) break;
            cut = (size_t)(nl + 1 - old);
        }
        if (cut != len) st = file_write_atomic(path, old, cut, e);
    } else {
        st = file_write_atomic(path, header, strlen(header), e);
    }
    free(old);
    if (st == CLGAN_OK) {
        r->log_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (r->log_fd < 0) st = err_set(e, CLGAN_ERR_IO, "%s: %s", path, strerror(errno));
    }
    free(path);
    return st;
}

clgan_status rundir_log_rewind(rundir *r, const char *header, uint64_t upto, clgan_err *e) {
    if (r->log_fd >= 0) close(r->log_fd);
    r->log_fd = -1;
    return rundir_log_open(r, header, 1, upto, e);
}

clgan_status rundir_log_append(rundir *r, const char *row, clgan_err *e) {
    size_t n = strlen(row), done = 0;
    while (done < n) {
        ssize_t w = write(r->log_fd, row + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return err_set(e, CLGAN_ERR_IO, "%s/log.csv: %s", r->path, strerror(errno));
        done += (size_t)w;
    }
    return CLGAN_OK;
}

clgan_status rundir_log_sync(rundir *r, clgan_err *e) {
    if (r->log_fd >= 0 && fdatasync(r->log_fd) != 0)
        return err_set(e, CLGAN_ERR_IO, "%s/log.csv: %s", r->path, strerror(errno));
    return CLGAN_OK;
}

/* Whether dir holds no entry but .lock. */
static int only_lock(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int other = 0;
    struct dirent *de;
    while (!other && (de = readdir(d)))
        other = strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".lock");
    closedir(d);
    return !other;
}

void rundir_close(rundir *r) {
    if (!r->path) return;
    if (r->log_fd >= 0) {
        fdatasync(r->log_fd);
        close(r->log_fd);
    }
    if (r->created && r->lock_fd >= 0 && only_lock(r->path)) { /* while the lock is still ours */
        char *lp = join(r->path, ".lock");
        if (lp && unlink(lp) == 0) rmdir(r->path);
        free(lp);
    }
    if (r->lock_fd >= 0) close(r->lock_fd); /* releases the lock */
    free(r->path);
    memset(r, 0, sizeof *r);
    r->lock_fd = r->log_fd = -1;
}
