/*
 * test_cli.c - the command line refuses bad input with a message naming the option and a
 * non-zero exit: 2 for usage errors, 1 for failures while running. Runs the clgan binary.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <errno.h>

#include "testutil.h"

typedef struct cli_case {
    const char *args;    /* after the binary; MODEL and TINY expand to fixtures */
    int status;
    const char *prefix;  /* expected start of stderr */
} cli_case;

static const cli_case cases[] = {
    {"frobnicate", 2, "clgan: unknown command 'frobnicate'"},
    {"train", 2, "clgan train: missing MODEL"},
    {"train TINY --epochs", 2, "clgan train: --epochs: missing value (N)"},
    {"train TINY --epochs x", 2, "clgan train: --epochs: expected an integer in [1, "},
    {"train TINY --epochs -3", 2, "clgan train: --epochs: expected an integer in [1, "},
    {"train TINY --epochs 0", 2, "clgan train: --epochs: expected an integer in [1, "},
    {"train TINY --epochs 99999999999999999999", 2, "clgan train: --epochs: expected an integer"},
    {"train TINY --iters 1.5", 2, "clgan train: --iters: expected an integer in [1, "},
    {"train TINY --iters 5 --epochs 3", 2, "clgan train: --epochs and --iters conflict"},
    {"train TINY --bogus", 2, "clgan train: unknown option '--bogus'"},
    {"train TINY --quiet=yes", 2, "clgan train: option '--quiet' takes no value"},
    {"train TINY --quiet --quiet", 2, "clgan train: option '--quiet' given twice"},
    {"train TINY --on-nan maybe", 2, "clgan train: --on-nan: expected stop or rollback, got 'maybe'"},
    {"train TINY --resume /nonexistent.safetensors --out OUT", 1,
     "clgan train: --resume: /nonexistent.safetensors: No such file"},
    {"train TINY TINY", 2, "clgan train: unexpected argument"},
    {"check", 2, "clgan check: missing MODEL"},
    {"check /nonexistent.yaml", 1, "clgan check: /nonexistent.yaml: No such file or directory"},
    {"sample", 2, "clgan sample: missing CKPT"},
    {"sample x.safetensors -n 0", 2, "clgan sample: -n: expected an integer in [1, 4096], got '0'"},
    {"sample x.safetensors -n abc", 2, "clgan sample: -n: expected an integer in [1, 4096]"},
    {"sample x.safetensors --seed -1", 2, "clgan sample: --seed: expected an integer in [0, "},
    {"sample x.safetensors --interpolate --nearest y", 2,
     "clgan sample: --interpolate and --nearest conflict"},
    {"sample /nonexistent.safetensors", 1, "clgan sample: /nonexistent.safetensors: No such file"},
    {"sample MODEL", 1, "clgan sample: "},
    {"eval x.safetensors", 2, "clgan eval: say which evaluation: --fid/--kid/--prdc/--score "
                              "with --classifier, --parzen, or --modes (one)"},
    {"eval x.safetensors --parzen --modes", 2, "clgan eval: say which evaluation: --fid"},
    {"eval x.safetensors --modes --sigmas 0.3", 2, "clgan eval: --sigmas applies to --parzen, "},
    {"eval x.safetensors --modes --samples 0", 2, "clgan eval: --samples: expected an integer"},
    {"eval CKPT --modes", 1, "clgan eval: --modes: the model's data are images, not a mixture"},
    {"eval x.safetensors --parzen --valid 5:3", 2, "clgan eval: --valid: expected START:STOP"},
    {"eval x.safetensors --parzen --test 5", 2, "clgan eval: --test: expected START:STOP"},
    {"eval x.safetensors --parzen --sigmas 0.1,-2", 2, "clgan eval: --sigmas: expected up to 64"},
    {"eval x.safetensors --parzen --samples 0", 2, "clgan eval: --samples: expected an integer"},
    {"bench TINY --iters 0", 2, "clgan bench: --iters: expected an integer in [1, "},
    {"bench TINY --device 0:0 --all-devices", 2, "clgan bench: --device and --all-devices conflict"},
    {"compare TINY", 2, "clgan compare: --devices: give two devices"},
    {"compare TINY --devices a", 2, "clgan compare: --devices: expected two devices as A,B"},
    {"compare TINY --devices a,b,c", 2, "clgan compare: --devices: expected two devices as A,B"},
    {"compare TINY --devices a,b --tolerance 1", 2,
     "clgan compare: --tolerance: expected a relative difference in (0, 1)"},
    {"theory TINY --d-steps 0", 2, "clgan theory: --d-steps: expected an integer in [1, "},
    {"devices --device", 2, "clgan devices: --device: missing value (SEL)"},
    {"devices --device no-such-device", 1,
     "clgan devices: --device: no OpenCL device matches 'no-such-device'"},
    {"check TINY --device=", 2, "clgan check: --device: missing value (SEL)"},
    {"figure1 /nonexistent.safetensors", 1, "clgan figure1: /nonexistent.safetensors: No such file"},
    {"plot", 2, "clgan plot: missing RUN|LOG"},
    {"plot /nonexistent.csv", 1, "clgan plot: /nonexistent.csv: No such file or directory"},
    {"plot LOGS/no_iter.csv -o OUT/c.png", 1, "clgan plot: LOGS/no_iter.csv:1: no 'iter' column"},
    {"plot LOGS/short_row.csv -o OUT/c.png", 1, "clgan plot: LOGS/short_row.csv:3: 2 fields, the "
                                                 "header has 3"},
    {"plot LOGS/not_number.csv -o OUT/c.png", 1, "clgan plot: LOGS/not_number.csv:3: column "
                                                  "'d_loss': 'abc' is not a number"},
    {"plot LOGS/twice.csv -o OUT/c.png", 1, "clgan plot: LOGS/twice.csv:1: column 'd_loss' "
                                             "appears twice"},
    {"plot LOGS/header_only.csv -o OUT/c.png", 1, "clgan plot: LOGS/header_only.csv: no rows"},
    {"plot LOGS/empty.csv -o OUT/c.png", 1, "clgan plot: LOGS/empty.csv: empty: no header line"},
    {"plot LOGS/good.csv -o /nonexistent/c.png", 1, "clgan plot: /nonexistent/c.png"},
    {"plot LOGS/nan.csv -o OUT/c.png", 0, ""},
    {"plot RUN -o OUT/c.png", 0, ""},
    {"plot FIFO -o OUT/c.png", 1, "clgan plot: FIFO: is a FIFO"},
    /* a missing data file: bench and compare only need its shape; the others refuse the model */
    {"bench NODATA --iters 1 --warmup 0", 0,
     "clgan bench: note: NODATA:9:9: 'path' in 'data': "},
    {"check NODATA", 1, "clgan check: NODATA:9:9: 'path' in 'data': "},
    {"train NODATA --out OUT", 1, "clgan train: NODATA:9:9: 'path' in 'data': "},
    {"train TINY --seed x", 2, "clgan train: --seed: expected an integer in [0, "},
    {"train TINY --seed -1", 2, "clgan train: --seed: expected an integer in [0, "},
    /* only regular files are read: a FIFO or /dev/zero is refused at once, never waited on */
    {"check FIFO", 1, "clgan check: FIFO: is a FIFO, expected a regular file"},
    {"sample FIFO", 1, "clgan sample: FIFO: is a FIFO, expected a regular file"},
    {"sample /dev/zero", 1, "clgan sample: /dev/zero: is a character device, expected a regular"},
    {"eval FIFO --parzen", 1, "clgan eval: FIFO: is a FIFO, expected a regular file"},
    {"train TINY --resume FIFO --out OUT", 1, "clgan train: --resume: FIFO: is a FIFO"},
    {"figure1 FIFO", 1, "clgan figure1: FIFO: is a FIFO"},
    {"sample CKPT --nearest FIFO -o OUT/s.png", 1, "clgan sample: FIFO: is a FIFO"},
    /* eval: images of another size, a label file, ranges and bandwidths out of reach */
    /* data that do not fit are failures (1), named by the option; usage (2) is for command
     * lines that cannot be understood */
    {"eval CKPT --parzen --data SMALL", 1,
     "clgan eval: --data: SMALL holds images of 14x14; the model makes images of 1x28x28"},
    {"eval CKPT --parzen --data WIDE", 1,
     "clgan eval: --data: WIDE holds images of 14x56; the model makes images of 1x28x28"},
    {"eval CKPT --parzen --data SMALL --real", 1, "clgan eval: --data: SMALL holds images of 14"},
    {"eval CKPT --parzen --data LABELS", 1,
     "clgan eval: --data: LABELS holds 10000 single values (labels?), not images"},
    {"eval CKPT --parzen --valid 9000:20000", 1,
     "clgan eval: --valid: images 9000:20000 are beyond the 10000 in "},
    {"eval CKPT --parzen --test 100:10001", 1, "clgan eval: --test: images 100:10001 are beyond"},
    {"eval CKPT --parzen --data SMALL --valid 0:5 --test 5:10", 1, "clgan eval: --data: SMALL holds"},
    {"eval CKPT --parzen --samples 50 --test 0:100 --valid 250:300", 0,
     "clgan eval: note: --test 0:100 overlaps the training images 0:200 of "},
    {"eval CLS --parzen", 1, "clgan eval: CLS: a checkpoint of a classifier, which has no generator"},
    {"eval CLS --modes", 1, "clgan eval: CLS: a checkpoint of a classifier, which has no generator"},
    {"figure1 RUN", 1, "clgan figure1: RUN: Figure 1 needs 1-D noise and 1-D data (gaussian_1d or "
                       "mixture_1d); this model has 8-D noise and images"},
    {"figure1 CLS", 1, "clgan figure1: CLS: a classifier's checkpoint: Figure 1 draws a GAN's"},
    /* --images: the data's range and shape, finite values, a dtype said as numpy writes it */
    {"eval --fid --classifier CLS --images F255NPY", 1, "clgan eval: --images: F255NPY: values "
     "lie in [0, 255], outside the model's data range [-1, 1] (data.range)"},
    {"eval --fid --classifier CLS --images HUGENPY", 1, "clgan eval: --images: HUGENPY: values "
     "lie in [3e+38, 3e+38], outside"},
    {"eval --fid --classifier CLS --images NANNPY", 1, "clgan eval: --images: NANNPY: value 7 is "
                                                       "NaN"},
    {"eval --fid --classifier CLS --images WIDENPY", 1, "clgan eval: --images: WIDENPY: images of "
     "14x56; the model's are 1x28x28"},
    {"eval --fid --classifier CLS --images U8NPY", 1, "clgan eval: --images: U8NPY: dtype '|u1'; "
                                                      "clgan reads float32"},
    {"eval --fid --classifier CLS --images SELFNPY --features-npy SELF", 2,
     "clgan eval: --features-npy: SELFNPY would be written over "},
    /* a stacked model's images are measured by --modes, not FID: its size is what is said */
    {"eval STACKED --fid --classifier CLS", 1, "clgan eval: tiny_stacked's images are 3x28x28 "
     "(stacked digits: --modes --classifier counts their modes); the classifier CLS takes 1x28x28"},
    /* plot: bounded at any magnitude; a byte-order mark, CRLF, subnormal numbers */
    {"plot LOGS/huge.csv -o OUT/c.png", 0, ""},
    {"plot LOGS/negative_huge.csv -o OUT/c.png", 0, ""},
    {"plot LOGS/bom_crlf.csv -o OUT/c.png", 0, ""},
    {"plot LOGS/tiny_values.csv -o OUT/c.png", 0, ""},
    {"plot LOGS/beyond_double.csv -o OUT/c.png", 1, "clgan plot: LOGS/beyond_double.csv:3: column "
                                                   "'d_loss': '1e999' is beyond the range of"},
    {"eval CKPT --parzen --sigmas 1e-30,0.2", 2,
     "clgan eval: --sigmas: expected up to 64 numbers from 0.0001 to 10000"},
    {"eval CKPT --parzen --sigmas nan", 2, "clgan eval: --sigmas: expected up to 64 numbers"},
    {"eval CKPT --parzen --sigmas 1e5", 2, "clgan eval: --sigmas: expected up to 64 numbers"},
    {"eval CKPT --parzen --samples 50 --sigmas 0.3", 0, ""},
    {"eval CKPT --fid", 2, "clgan eval: --fid, --kid, --prdc and --score need --classifier"},
    {"eval CKPT --fid --classifier CKPT", 1, "clgan eval: --classifier: CKPT is a checkpoint of a "
                                             "GAN; give a classifier's"},
    {"eval CLS --kid --classifier CLS", 1, "clgan eval: CLS is a classifier's checkpoint"},
    {"eval --fid --classifier CLS --images BADNPY", 1, "clgan eval: --images: BADNPY: not a .npy"},
    {"eval --fid --classifier CLS --images SMALL", 1,
     "clgan eval: --images: SMALL: images of 14x14; the model's are 1x28x28"},
    {"eval --fid --classifier CLS --images WIDE", 1,
     "clgan eval: --images: WIDE: images of 14x56; the model's are 1x28x28"},
    {"eval CKPT --fid --classifier CLS --images SMALL", 2, "clgan eval: measure one set"},
    {"eval --fid --classifier CLS", 2, "clgan eval: missing CKPT (or --images FILE, or --real)"},
    {"eval --fid --classifier CLS --real --split nope", 2, "clgan eval: --split: expected test,"},
    {"eval --fid --classifier CLS --real --feature-layer 7", 2,
     "clgan eval: --feature-layer: 7 is not a layer before the classifier's output (0 to 6"},
    {"eval --fid --classifier CLS --real --parzen", 2, "clgan eval: say which evaluation"},
    {"eval --fid --kid --prdc --classifier CLS --real --samples 300", 0, ""},
    {"train LABELSCOUNT --out OUT/r", 1,
     "clgan train: /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz holds 60000 "
     "labels, the images 10000"},
    {"train EVALMISS --out OUT/r", 1,
     "clgan train: EVALMISS:21:22: 'classifier' in 'train.eval': "},
    {"sample CKPT --class 3", 2, "clgan sample: --class: CKPT is not a conditional model"},
    {"sample CKPT --class x", 2, "clgan sample: --class: expected an integer in [0, 255]"},
    {"sample CLS", 1, "clgan sample: CLS: a checkpoint of a classifier, which has no generator"},
    {"bench CLSMODEL", 1, "clgan bench: CLSMODEL declares a classifier"},
    {"bench COND --iters 1 --warmup 0", 0, ""}, /* synthetic data carry labels */
    {"bench TINY --devices pthread,,", 2, "clgan bench: --devices: an empty selector in "},
    {"bench TINY --devices 0:0 --all-devices", 2, "clgan bench: --devices runs alone: without "
                                                  "--all-devices"},
    {"train TINY --devices ,pthread --out OUT/r", 2, "clgan train: --devices: an empty selector"},
    {"sample CKPT --nearest SMALL -o OUT/s.png", 1, "clgan sample: --nearest: SMALL has images"},
    {"sample CKPT --nearest WIDE -o OUT/s.png", 1,
     "clgan sample: --nearest: WIDE has images of 14x56, the model makes 1x28x28"},
    {"sample CKPT --nearest LABELS -o OUT/s.png", 1, "clgan sample: --nearest: LABELS has images"},
};

/* Fixtures made once for the table: an image checkpoint, 14x14 images, a FIFO. */
static char fixtures[] = "/tmp/clgan-cli-fix-XXXXXX";

static const char *fixture(const char *name) {
    static char bufs[4][600];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", fixtures, name);
    return b;
}

/* A .npy file of n float32 values v (or bytes, u8) under header shape `shape` ("(4, 28, 28)"). */
static void write_npy(const char *name, const char *descr, const char *shape, const void *v,
                      size_t bytes) {
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    int total = (10 + n + 1 + 63) / 64 * 64, hl = total - 10;
    FILE *f = fopen(fixture(name), "wb");
    if (!f) abort();
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(dict, 1, (size_t)n, f);
    for (int i = 10 + n; i < total - 1; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(v, 1, bytes, f);
    fclose(f);
}

static void make_fixtures(void) {
    if (!mkdtemp(fixtures)) abort();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' train '%s' --out '%s' --quiet", CLGAN_BINARY,
             src_path("tests/data/tiny_mnist.yaml"), fixture("run"));
    if (system(cmd) != 0) abort();
    /* 10 images of 14x14: an IDX file of another image size */
    FILE *f = fopen(fixture("small.idx"), "wb");
    static const unsigned char hdr[] = {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 14, 0, 0, 0, 14};
    fwrite(hdr, 1, sizeof hdr, f);
    for (int i = 0; i < 10 * 14 * 14; i++) fputc(i & 0xff, f);
    fclose(f);
    if (mkfifo(fixture("fifo"), 0600) != 0) abort();
    snprintf(cmd, sizeof cmd, "'%s' train '%s' --out '%s' --quiet --epochs 1", CLGAN_BINARY,
             src_path("tests/data/tiny_classifier.yaml"), fixture("cls"));
    if (system(cmd) != 0) abort();
    f = fopen(fixture("bad.npy"), "wb");
    fputs("not numpy\n", f);
    fclose(f);
    /* 10 images of 14x56: as many values as 28x28, another shape */
    f = fopen(fixture("wide.idx"), "wb");
    static const unsigned char wide[] = {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 14, 0, 0, 0, 56};
    fwrite(wide, 1, sizeof wide, f);
    for (int i = 0; i < 10 * 14 * 56; i++) fputc(i & 0xff, f);
    fclose(f);
    enum { N = 4 * 784 };
    static float v[N];
    for (int i = 0; i < N; i++) v[i] = (float)(i % 256); /* [0, 255] for a [-1, 1] model */
    write_npy("f255.npy", "<f4", "(4, 1, 28, 28)", v, sizeof v);
    write_npy("self.gen.npy", "<f4", "(4, 1, 28, 28)", v, sizeof v);
    for (int i = 0; i < N; i++) v[i] = 3e38f;
    write_npy("huge.npy", "<f4", "(4, 28, 28)", v, sizeof v);
    for (int i = 0; i < N; i++) v[i] = 0;
    v[7] = NAN;
    write_npy("nan.npy", "<f4", "(4, 28, 28)", v, sizeof v);
    v[7] = 0;
    write_npy("wide.npy", "<f4", "(4, 14, 56)", v, sizeof v);
    write_npy("u8.npy", "|u1", "(4, 28, 28)", v, N);
    snprintf(cmd, sizeof cmd, "'%s' train '%s' --out '%s' --quiet --iters 2", CLGAN_BINARY,
             src_path("tests/data/tiny_stacked.yaml"), fixture("stacked"));
    if (system(cmd) != 0) abort();
}

static void remove_fixtures(void) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixtures);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", fixtures);
}

/* What a token of a case stands for, or NULL for itself. */
static const char *token(const char *tok, const char *out) {
    if (strcmp(tok, "TINY") == 0) return src_path("tests/data/tiny_gan.yaml");
    if (strcmp(tok, "MODEL") == 0) return src_path("models/mnist_paper.yaml");
    if (strcmp(tok, "NODATA") == 0) return src_path("tests/data/idx_missing.yaml");
    if (strcmp(tok, "CKPT") == 0) return fixture("run/checkpoint.safetensors");
    if (strcmp(tok, "CLS") == 0) return fixture("cls/checkpoint.safetensors");
    if (strcmp(tok, "COND") == 0) return src_path("tests/data/tiny_cond.yaml");
    if (strcmp(tok, "CLSMODEL") == 0) return src_path("tests/data/tiny_classifier.yaml");
    if (strcmp(tok, "BADNPY") == 0) return fixture("bad.npy");
    if (strcmp(tok, "LABELSCOUNT") == 0) return src_path("tests/data/labels_other_count.yaml");
    if (strcmp(tok, "EVALMISS") == 0) return src_path("tests/data/eval_missing_classifier.yaml");
    if (strcmp(tok, "SMALL") == 0) return fixture("small.idx");
    if (strcmp(tok, "FIFO") == 0) return fixture("fifo");
    if (strcmp(tok, "LABELS") == 0) return src_path("models/data/mnist/t10k-labels-idx1-ubyte.gz");
    if (strcmp(tok, "OUT") == 0) return out;
    if (strcmp(tok, "LOGS") == 0) return src_path("tests/data/logs");
    if (strcmp(tok, "RUN") == 0) return fixture("run");
    if (strcmp(tok, "WIDE") == 0) return fixture("wide.idx");
    if (strcmp(tok, "F255NPY") == 0) return fixture("f255.npy");
    if (strcmp(tok, "HUGENPY") == 0) return fixture("huge.npy");
    if (strcmp(tok, "NANNPY") == 0) return fixture("nan.npy");
    if (strcmp(tok, "WIDENPY") == 0) return fixture("wide.npy");
    if (strcmp(tok, "U8NPY") == 0) return fixture("u8.npy");
    if (strcmp(tok, "SELFNPY") == 0) return fixture("self.gen.npy");
    if (strcmp(tok, "SELF") == 0) return fixture("self");
    if (strcmp(tok, "STACKED") == 0) return fixture("stacked/checkpoint.safetensors");
    return NULL;
}

static char *expand(const char *args, const char *out) {
    static char buf[2048];
    buf[0] = '\0';
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", args);
    for (char *tok = strtok(tmp, " "); tok; tok = strtok(NULL, " ")) {
        const char *t = token(tok, out);
        char joined[1024];
        const char *slash = strchr(tok, '/');
        if (!t && slash && slash != tok) { /* OUT/s.png */
            char head[64];
            snprintf(head, sizeof head, "%.*s", (int)(slash - tok), tok);
            const char *h = token(head, out);
            if (h) {
                snprintf(joined, sizeof joined, "%s%s", h, slash);
                t = joined;
            }
        }
        if (!t) t = tok;
        strcat(buf, " '");
        strcat(buf, t);
        strcat(buf, "'");
    }
    return buf;
}

START_TEST(bad_command_lines) {
    const cli_case *c = &cases[_i];
    char errf[] = "/tmp/clgan-cli-XXXXXX";
    int fd = mkstemp(errf);
    ck_assert(fd >= 0);
    close(fd);
    char out[] = "/tmp/clgan-cli-out-XXXXXX";
    ck_assert(mkdtemp(out) != NULL);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s'%s </dev/null >/dev/null 2>'%s'", CLGAN_BINARY,
             expand(c->args, out), errf);
    int ws = system(cmd);
    char msg[2048] = "";
    FILE *f = fopen(errf, "r");
    size_t n = fread(msg, 1, sizeof msg - 1, f);
    msg[n] = '\0';
    fclose(f);
    unlink(errf);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", out);
    ck_assert(system(rm) == 0);
    ck_assert_msg(WIFEXITED(ws), "clgan %s: did not exit normally (status %d)", c->args, ws);
    ck_assert_msg(WEXITSTATUS(ws) == c->status, "clgan %s: exit %d, want %d; stderr: %s", c->args,
                  WEXITSTATUS(ws), c->status, msg);
    char want[2048];
    snprintf(want, sizeof want, "%s", c->prefix);
    /* (longer tokens before those they start with: SELFNPY before SELF) */
    static const char *const tokens[] = {
        "NODATA", "FIFO",    "SMALL",   "LABELS",  "CKPT",   "CLSMODEL", "CLS",     "BADNPY",
        "EVALMISS", "LOGS",  "RUN",     "WIDENPY", "WIDE",   "F255NPY",  "HUGENPY", "NANNPY",
        "U8NPY",  "SELFNPY", "STACKED"};
    for (size_t k = 0; k < ARRAY_LEN(tokens); k++) {
        if (!strstr(c->args, tokens[k])) continue; /* "missing CKPT" names the argument */
        char *at = strstr(want, tokens[k]);
        if (!at) continue;
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", at + strlen(tokens[k]));
        snprintf(at, sizeof want - (size_t)(at - want), "%s%s", token(tokens[k], out), rest);
    }
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "clgan %s:\n got: %s\nwant: %s...",
                  c->args, msg, want);
}
END_TEST

/* What a command wrote on stdout (its exit status in *status), or NULL. malloc'd. */
static char *run_stdout(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    while (out && (n += fread(out + n, 1, cap - 1 - n, p)) < cap - 1 && !feof(p)) {
    }
    if (out) out[n] = '\0';
    int ws = pclose(p);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    return out;
}

/* --json is JSON whatever the paths hold: a quote and a backslash in a classifier's path. */
START_TEST(json_escapes_paths) {
    char dir[700], path[800], cmd[2400];
    snprintf(dir, sizeof dir, "%s", fixture("we\"ird\\dir"));
    ck_assert(mkdir(dir, 0700) == 0 || errno == EEXIST);
    snprintf(path, sizeof path, "%s/cls.safetensors", dir);
    FILE *in = fopen(fixture("cls/checkpoint.safetensors"), "rb"), *out = fopen(path, "wb");
    ck_assert(in && out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) ck_assert(fwrite(buf, 1, n, out) == n);
    fclose(in);
    fclose(out);
    /* the path as one shell word: single quotes, none inside it */
    snprintf(cmd, sizeof cmd, "'%s' eval --fid --kid --classifier '%s' --real --samples 200 "
             "--kid-size 50 --kid-subsets 3 --json 2>/dev/null", CLGAN_BINARY, path);
    int status;
    char *text = run_stdout(cmd, &status);
    ck_assert_msg(text && status == 0, "exit %d: %s", status, text ? text : "");
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "classifier");
    ck_assert_msg(cJSON_IsString(c) && strcmp(c->valuestring, path) == 0, "%s", text);
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "fid")));
    cJSON_Delete(j);
    free(text);
}
END_TEST

/* compare --tolerance gives its verdict on stdout and in the exit status: a device against
 * itself agrees bit for bit. */
START_TEST(compare_verdict) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' compare '%s' --devices 0:0,0:0 --iters 1 --tolerance 1e-9 "
             "2>/dev/null", CLGAN_BINARY, src_path("tests/data/tiny_gan.yaml"));
    int status;
    char *text = run_stdout(cmd, &status);
    ck_assert_msg(text && status == 0, "exit %d: %s", status, text ? text : "");
    ck_assert_msg(strstr(text, "\nagree: every layer within 1e-09 (normwise) after one "
                               "iteration: bit for bit\n"), "%s", text);
    free(text);
}
END_TEST

int main(int argc, char **argv) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_loop_test(tc, bad_command_lines, 0, (int)ARRAY_LEN(cases));
    tcase_add_test(tc, json_escapes_paths);
    tcase_add_test(tc, compare_verdict);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    make_fixtures();
    int rc = run_suite(s, argc, argv, 1);
    remove_fixtures();
    return rc;
}
