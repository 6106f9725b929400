/*
 * cli_train.c - `clgan train`: the main job. Options, signals and progress lines over the
 * library's trainer (clgan.h; session.c runs the run and writes its directory: config.yaml,
 * log.csv, samples/, checkpoint.safetensors).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void fmt_duration(double s, char *out, size_t len) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(out, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, len, "%02ld:%02ld", t / 60, t % 60);
}

/*
 * SIGINT, SIGTERM and SIGHUP (a closed terminal): the loop finishes its iteration, saves and
 * exits 128 + the signal; a second SIGINT exits at once (every file is written to a temporary
 * and renamed, so none is left damaged). SIGPIPE is ignored by main(): a closed stdout or
 * stderr (`clgan train ... | head`) costs the progress lines, never the run.
 *
 * The three are blocked in every thread from the start (PoCL's and Open MPI's threads inherit
 * the mask) and taken by one thread in sigwait: no handler ever runs inside the driver. A
 * handler did, once: LLVM, inside PoCL's compiler, hooks SIGINT to delete its temporary files
 * and then calls the previous handler, so a Ctrl-C during a kernel build failed the build
 * ("unable to rename temporary ...") instead of stopping the run after its first iteration.
 * Threads that libraries start before main() (OpenBLAS's pool, when Debian's BLAS alternative
 * is libopenblas0-pthread) have them unblocked: one of those may take the signal, and its
 * handler hands it on to the sigwait thread (pthread_kill is async-signal-safe), which would
 * otherwise never see it (with OpenBLAS's threads, Ctrl-C was lost).
 */
static _Atomic int stop_signal;
static sigset_t stop_set;
static pthread_t signal_taker;

static void *signal_thread(void *arg) {
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&stop_set, &sig) != 0) continue;
        int first = 0;
        /* the first signal names the exit; a second SIGINT leaves at once */
        if (!atomic_compare_exchange_strong(&stop_signal, &first, sig) && sig == SIGINT)
            _exit(130);
    }
    return NULL;
}

/* Runs only in a thread that has the signals unblocked (one a library started before main):
 * hands the signal to the sigwait thread. Installed also so that none is ignored (a shell
 * starts background jobs with SIGINT ignored, which would discard it unseen). */
static void hand_on(int sig) {
    pthread_kill(signal_taker, sig);
}

/* Blocks SIGINT, SIGTERM and SIGHUP in this thread (and the threads it starts from now on) and
 * starts the thread that takes them. 0, or -1 (then signals stay as they were). */
static int catch_stop_signals(void) {
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0) return -1;
    pthread_t th;
    pthread_attr_t at;
    if (pthread_attr_init(&at) != 0) return -1;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &at, signal_thread, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
        return -1;
    }
    signal_taker = th; /* before the handler that hands signals to it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hand_on;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

static const char *signal_word(int sig) {
    return sig == SIGINT ? "interrupted" : sig == SIGHUP ? "hung up" : "terminated";
}

/* "clgan train", or under mpirun "clgan train (rank R of N)": what messages start with */
static char who[48] = "clgan train";

/* The library's messages name its parameters; the user gave options. */
static void say_error(const char *msg) {
    static const char *const names[][2] = {
        {"run_dir: ", "--out: "}, {"resume: ", "--resume: "}, {"seed: ", "--seed: "},
        {"on_nan: ", "--on-nan "}, {"force ", "--force "}};
    if (!msg || !msg[0]) return; /* under mpirun rank 0 says what every rank met */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len = strlen(names[i][0]);
        if (strncmp(msg, names[i][0], len) == 0) {
            fprintf(stderr, "%s: %s%s\n", who, names[i][1], msg + len);
            return;
        }
    }
    fprintf(stderr, "%s: %s\n", who, msg);
}

typedef struct progress_out {
    int quiet, tty;
    int lead;          /* rank 0, which speaks for the run */
    int classifier;    /* a classifier's lines (loss and accuracy) */
    uint64_t done_iters; /* CLGAN_EVENT_DONE's figures */
    double done_seconds, done_epochs;
} progress_out;

static int stop_requested(void *user) {
    (void)user;
    return atomic_load(&stop_signal);
}

/* The trainer's events as lines: progress on stdout, notes and rollbacks on stderr. */
static void on_progress(const clgan_train_progress *p, void *user) {
    progress_out *o = user;
    const char *nl = o->tty ? "\n" : "";
    if (p->event == CLGAN_EVENT_NOTE) {
        fprintf(stderr, "%s: note: %s\n", who, p->text);
        return;
    }
    if (p->event == CLGAN_EVENT_ROLLBACK) {
        if (o->tty && !o->quiet) printf("\n");
        fflush(stdout);
        fprintf(stderr, "%s: %s\n", who, p->text);
        return;
    }
    if (p->event == CLGAN_EVENT_DONE) {
        o->done_iters = (uint64_t)p->count;
        o->done_seconds = p->seconds;
        o->done_epochs = p->epochs;
        return;
    }
    if (o->quiet || !o->lead) return;
    char etas[32];
    switch (p->event) {
    case CLGAN_EVENT_ACCURACY:
        printf("%stest accuracy after %ld epoch%s (%.2f epochs): %.2f%% of %ld images (%.1f s)\n",
               nl, p->epoch, p->epoch == 1 ? "" : "s", p->epochs, 100 * p->value, p->count,
               p->seconds);
        break;
    case CLGAN_EVENT_PARZEN:
        if (isnan(p->value))
            printf("%sParzen log-likelihood after %ld epochs: not finite at any bandwidth; not "
                   "logged\n", nl, p->epoch);
        else
            printf("%sParzen log-likelihood after %ld epochs: %.1f +- %.1f nats (sigma %.3g, "
                   "%.1f s)\n", nl, p->epoch, p->value, p->value2, p->value3, p->seconds);
        break;
    case CLGAN_EVENT_FID:
        printf("%sFID after %ld epochs: %.3f, KID %.5f +- %.5f (%ld samples against %ld %s "
               "images, %.1f s)\n", nl, p->epoch, p->value, p->value2, p->value3, p->count,
               p->count2, p->text, p->seconds);
        break;
    case CLGAN_EVENT_LOG:
        fmt_duration(p->eta_s, etas, sizeof etas);
        if (o->classifier)
            printf("%sepoch %ld  step %llu/%llu  %.1f it/s  ETA %s  loss %.4f  accuracy %.3f%s",
                   o->tty ? "\r" : "", p->epoch + 1, (unsigned long long)p->iter,
                   (unsigned long long)p->total, p->it_per_s, etas, p->loss, p->accuracy,
                   o->tty ? "   " : "\n");
        else
            printf("%sepoch %ld  iter %llu/%llu  %.1f it/s  ETA %s  D loss %.4f  G loss %.4f"
                   "  D(x) %.3f  D(G(z)) %.3f%s",
                   o->tty ? "\r" : "", p->epoch + 1, (unsigned long long)p->iter,
                   (unsigned long long)p->total, p->it_per_s, etas, p->d_loss, p->g_loss,
                   p->d_real, p->d_fake, o->tty ? "   " : "\n");
        break;
    default:
        break;
    }
    fflush(stdout);
}

int cmd_train(const cli_opts *o) {
    long epochs = 0, iters = 0, seed_l = 0;
    int has_e = opt_long(o, "--epochs", 1, 1L << 30, &epochs);
    int has_i = opt_long(o, "--iters", 1, 1L << 40, &iters);
    int has_seed = opt_long(o, "--seed", 0, 0x7fffffffffffffffL, &seed_l);
    if (has_e < 0 || has_i < 0 || has_seed < 0) return EXIT_USAGE;
    if (has_e && has_i) {
        fprintf(stderr, "clgan train: --epochs and --iters conflict: give one\n");
        return EXIT_USAGE;
    }
    /* From the start: a signal during the (possibly long) program builds and GEMM tuning stops
     * the run after its first iteration, instead of being lost, or ignored where the shell
     * started clgan in the background with SIGINT ignored. */
    if (catch_stop_signals() != 0) {
        fprintf(stderr, "clgan train: cannot start the thread that takes signals\n");
        return 1;
    }
    clgan_train_params tp = clgan_train_default_params();
    tp.resume = opt_get(o, "--resume");
    tp.run_dir = opt_get(o, "--out");
    tp.new_run_dir = 1;
    tp.force = opt_get(o, "--force") != NULL;
    tp.has_seed = has_seed;
    tp.seed = (uint64_t)seed_l;
    tp.iters = has_i ? (uint64_t)iters : 0;
    tp.epochs = has_e ? epochs : 0;
    const char *on_nan = opt_get(o, "--on-nan");
    if (on_nan) {
        if (strcmp(on_nan, "rollback") == 0) {
            tp.on_nan = CLGAN_ON_NAN_ROLLBACK;
        } else if (strcmp(on_nan, "stop") != 0) {
            fprintf(stderr, "clgan train: --on-nan: expected stop or rollback, got '%s'\n", on_nan);
            return EXIT_USAGE;
        }
    }
    progress_out po = {.quiet = opt_get(o, "--quiet") != NULL, .tty = isatty(STDOUT_FILENO),
                       .lead = 1};
    long timeout = 600;
    if (opt_long(o, "--comm-timeout", 1, 1L << 30, &timeout) < 0) return EXIT_USAGE;
    /* mpirun -n R clgan train: one replica per rank; rank 0 alone writes the run */
    clgan_ranks *ranks = NULL;
    if (clgan_ranks_start(&ranks) != CLGAN_OK) {
        fprintf(stderr, "%s: %s\n", who, clgan_ranks_errmsg(ranks));
        clgan_ranks_end(ranks);
        return 1;
    }
    clgan_ranks_set_timeout(ranks, (double)timeout);
    const int n_ranks = clgan_ranks_size(ranks), rank = clgan_ranks_rank(ranks);
    po.lead = rank == 0;
    if (n_ranks > 1) {
        snprintf(who, sizeof who, "clgan train (rank %d of %d)", rank, n_ranks);
        tp.ranks = ranks;
        if (!po.lead) po.quiet = 1;
        if (tp.on_nan == CLGAN_ON_NAN_ROLLBACK) {
            if (po.lead)
                fprintf(stderr, "%s: --on-nan rollback under mpirun is not built: give "
                        "--on-nan stop and resume from the last checkpoint\n", who);
            clgan_ranks_end(ranks);
            return EXIT_USAGE;
        }
    }
    tp.progress = on_progress;
    tp.stop = stop_requested;
    tp.user = &po;
    int rc = 1;
    clgan_device **devs = NULL;
    int n_devs = 0;
    clgan_trainer *t = NULL;
    clgan_model *m = NULL;
    if (opt_get(o, "--devices") && o->device) {
        fprintf(stderr, "clgan train: --device and --devices conflict: give one\n");
        rc = EXIT_USAGE;
        goto done;
    }
    if (clgan_model_load(o->positional, &m) != CLGAN_OK) {
        fprintf(stderr, "%s: %s\n", who, clgan_model_errmsg(m));
        goto done; /* every rank reads the same file and refuses alike */
    }
    /* --devices A,B,...: one replica per device (opened before the run directory is taken) */
    int why = n_ranks > 1 ? open_rank_device(o, ranks, &devs, &n_devs)
              : opt_get(o, "--devices") ? open_device_list(o, &devs, &n_devs)
                                        : open_one_device(o, &devs, &n_devs);
    if (why) {
        rc = why;
        if (n_ranks > 1) clgan_ranks_abort(ranks, rc);
        goto done;
    }
    if (clgan_trainer_open(m, devs, n_devs, &tp, &t) != CLGAN_OK) {
        const char *msg = clgan_trainer_errmsg(t);
        say_error(msg);
        rc = strncmp(msg, "seed: ", 6) == 0 ? EXIT_USAGE : 1;
        goto done;
    }
    clgan_train_info in;
    clgan_trainer_info(t, &in);
    po.classifier = in.classifier;
    if (in.iter >= in.total && !po.quiet)
        printf("clgan train: the run is already at iteration %llu of %llu; nothing to do (give "
               "a longer --iters or --epochs)\n",
               (unsigned long long)in.iter, (unsigned long long)in.total);
    if (!po.quiet && in.classifier)
        printf("clgan train: classifier %s on %s; %ld labelled images, %d classes, batch %d, "
               "%llu steps (%ld per epoch), accuracy on %ld test images; run directory %s\n",
               in.name, in.where, in.samples, in.classes, in.batch,
               (unsigned long long)in.total, in.batches_per_epoch, in.test_images, in.run_dir);
    else if (!po.quiet)
        printf("clgan train: %s on %s; %ld samples, batch %d, k %d, %llu iterations "
               "(%ld per epoch); run directory %s\n",
               in.name, in.where, in.samples, in.batch, in.k, (unsigned long long)in.total,
               in.batches_per_epoch / in.k, in.run_dir);
    if (!po.quiet)
        printf("clgan train: programs %s in %.2f s (%d built, %d from cache)\n",
               in.programs_built ? "built" : "loaded", in.build_seconds, in.programs_built,
               in.programs_loaded);
    fflush(stdout);
    clgan_status st = clgan_trainer_run(t, 0);
    if (st != CLGAN_OK && po.tty && !po.quiet) printf("\n");
    fflush(stdout);
    if (st == CLGAN_STOPPED) {
        int sig = clgan_trainer_stopped_by(t); /* the signal, every rank's largest */
        const char *msg = clgan_trainer_errmsg(t);
        if (msg[0]) fprintf(stderr, "%s: %s %s\n", who, signal_word(sig), msg);
        rc = 128 + sig;
        goto done;
    }
    if (st != CLGAN_OK) {
        say_error(clgan_trainer_errmsg(t));
        rc = 1;
        goto done;
    }
    if (!po.quiet) {
        clgan_trainer_info(t, &in);
        char mem[32];
        clgan_format_bytes((double)in.mem_peak, mem, sizeof mem);
        printf("%sclgan train: %llu iterations in %.1f s (%.1f s per epoch), %s of device memory "
               "at peak; wrote %s/\n", po.tty ? "\n" : "", (unsigned long long)po.done_iters,
               po.done_seconds, po.done_seconds / po.done_epochs, mem, in.run_dir);
    }
    rc = 0;
done:
    if (rc != 0 && t && clgan_trainer_failed_alone(t))
        clgan_ranks_abort(ranks, rc); /* one rank's failure ends every rank */
    clgan_trainer_free(t);
    for (int i = 0; i < n_devs; i++) clgan_device_free(devs[i]);
    free(devs);
    clgan_model_free(m);
    clgan_ranks_end(ranks);
    return rc;
}
