/*
 * test_common.c - the file helpers every reader and writer goes through: only regular files of a
 * bounded size are read (a FIFO, /dev/zero or a directory is refused at once, never waited on or
 * read forever), and an atomic write never replaces something that is not a regular file.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "data.h"
#include "data.h" /* twice: every header stands alone and guards all of itself */
#include "testutil.h"

static char dir[] = "/tmp/clgan-common-XXXXXX";

static const char *in_dir(const char *name) {
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static void setup(void) {
    ck_assert(mkdtemp(dir) != NULL);
    alarm(60); /* a reader that blocks on a FIFO fails the test instead of hanging the suite */
}

static void teardown(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert(system(cmd) == 0);
    strcpy(dir, "/tmp/clgan-common-XXXXXX");
    alarm(0);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

typedef struct bad_path {
    const char *path; /* "FIFO", "DIR" are made in the test folder */
    const char *what; /* in the message */
} bad_path;

static const bad_path unreadable[] = {
    {"FIFO", "is a FIFO, expected a regular file"},
    {"DIR", "is a directory, expected a regular file"},
    {"/dev/zero", "is a character device, expected a regular file"},
    {"/dev/null", "is a character device, expected a regular file"},
    {"MISSING", "No such file or directory"},
};

static const char *make_bad(const char *p) {
    if (strcmp(p, "FIFO") == 0) {
        const char *f = in_dir("fifo");
        ck_assert(mkfifo(f, 0600) == 0);
        return f;
    }
    if (strcmp(p, "DIR") == 0) {
        const char *d = in_dir("sub");
        ck_assert(mkdir(d, 0700) == 0);
        return d;
    }
    if (strcmp(p, "MISSING") == 0) return in_dir("missing");
    return p;
}

START_TEST(only_regular_files_are_read) {
    const bad_path *c = &unreadable[_i];
    const char *p = make_bad(c->path);
    clgan_err e;
    char *data = (char *)1;
    size_t len = 7;
    ck_assert_int_eq(file_read_all(p, 1 << 20, &data, &len, &e), CLGAN_ERR_IO);
    ck_assert(data == NULL && len == 0);
    ck_assert_msg(strncmp(e.msg, p, strlen(p)) == 0 && strstr(e.msg, c->what), "%s", e.msg);
    /* the IDX reader goes through the same door */
    idx_header h;
    float *x;
    ck_assert_int_eq(idx_load(p, 0, -1, &h, &x, &e), CLGAN_ERR_IO);
    ck_assert_msg(strstr(e.msg, c->what), "%s", e.msg);
    /* and a model file too */
    clgan_model *m;
    ck_assert_int_ne(clgan_model_load(p, &m), CLGAN_OK);
    ck_assert_msg(strstr(clgan_model_errmsg(m), c->what), "%s", clgan_model_errmsg(m));
    clgan_model_free(m);
}
END_TEST

START_TEST(read_is_bounded) {
    const char *p = in_dir("big.txt");
    write_text(p, "0123456789");
    clgan_err e;
    char *data;
    size_t len;
    ck_assert_int_eq(file_read_all(p, 9, &data, &len, &e), CLGAN_ERR_IO);
    ck_assert_msg(strstr(e.msg, "10 bytes, more than the 9"), "%s", e.msg);
    ck_assert_int_eq(file_read_all(p, 10, &data, &len, &e), CLGAN_OK);
    ck_assert_uint_eq(len, 10);
    ck_assert_str_eq(data, "0123456789");
    free(data);
    /* an empty file is a file */
    const char *q = in_dir("empty.txt");
    write_text(q, "");
    ck_assert_int_eq(file_read_all(q, 10, &data, &len, &e), CLGAN_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(data, "");
    free(data);
}
END_TEST

START_TEST(atomic_write_never_replaces_other_files) {
    clgan_err e;
    const char *fifo = make_bad("FIFO"), *sub = make_bad("DIR");
    ck_assert_int_eq(file_write_atomic(fifo, "x", 1, &e), CLGAN_ERR_IO);
    ck_assert_msg(strstr(e.msg, "is a FIFO; clgan writes only regular files"), "%s", e.msg);
    struct stat st;
    ck_assert(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    ck_assert_int_eq(file_write_atomic(sub, "x", 1, &e), CLGAN_ERR_IO);
    ck_assert(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
    ck_assert_int_eq(file_write_atomic("/dev/null", "x", 1, &e), CLGAN_ERR_IO);
    ck_assert(access("/dev/null.tmp", F_OK) != 0);
    /* a regular file is replaced whole */
    const char *p = in_dir("f.txt");
    write_text(p, "old contents");
    ck_assert_int_eq(file_write_atomic(p, "new", 3, &e), CLGAN_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(file_read_all(p, 100, &data, &len, &e), CLGAN_OK);
    ck_assert_str_eq(data, "new");
    free(data);
}
END_TEST

START_TEST(paths_of_any_length) {
    /* no fixed buffer: a folder path of 3000 bytes is made, written into and read back */
    char *p = str_fmt("%s", dir);
    while (strlen(p) < 3000) {
        char *q = str_fmt("%s/%s", p, "a-rather-long-folder-name-of-forty-bytes");
        free(p);
        p = q;
    }
    ck_assert_int_eq(mkdir_p(p), 0);
    char *f = str_fmt("%s/file.txt", p);
    clgan_err e;
    ck_assert_int_eq(file_write_atomic(f, "deep", 4, &e), CLGAN_OK);
    char *data;
    ck_assert_int_eq(file_read_all(f, 100, &data, NULL, &e), CLGAN_OK);
    ck_assert_str_eq(data, "deep");
    free(data);
    /* a file where a folder is wanted */
    char *g = str_fmt("%s/sub", f);
    ck_assert_int_eq(mkdir_p(f), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    ck_assert_int_eq(mkdir_p(g), -1);
    free(g);
    free(f);
    free(p);
    char *abs = path_absolute("relative/x.yaml");
    ck_assert(abs[0] == '/' && strstr(abs, "/relative/x.yaml"));
    free(abs);
}
END_TEST

/* A message longer than the handle holds (a long build log) says that it was cut. */
START_TEST(long_messages_say_they_are_cut) {
    static char big[10000];
    memset(big, 'x', sizeof big - 1);
    clgan_err e;
    err_set(&e, CLGAN_ERR_BUILD, "log: %s", big);
    ck_assert_uint_eq(strlen(e.msg), sizeof e.msg - 1);
    char want[64];
    snprintf(want, sizeof want, "\n[... %zu more bytes not shown]",
             strlen("log: ") + sizeof big - 1 - (sizeof e.msg - 1));
    ck_assert_str_eq(e.msg + strlen(e.msg) - strlen(want), want);
    err_set(&e, CLGAN_ERR_IO, "short");
    ck_assert_str_eq(e.msg, "short");
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, only_regular_files_are_read, 0, (int)ARRAY_LEN(unreadable));
    tcase_add_test(tc, read_is_bounded);
    tcase_add_test(tc, atomic_write_never_replaces_other_files);
    tcase_add_test(tc, paths_of_any_length);
    tcase_add_test(tc, long_messages_say_they_are_cut);
    suite_add_tcase(s, tc);
    return run_suite(s, argc, argv, 1);
}
