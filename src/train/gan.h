/*
 * gan.h - the adversarial training loop of Goodfellow et al. (2014), Algorithm 1, on a device.
 *
 * One iteration: k discriminator steps, each on m real samples (a minibatch of this epoch's
 * order) and m samples of G from fresh noise, in one batch of 2m through D; then one generator
 * step on m fresh noise samples, backpropagated through D without D's weight gradients.
 * Everything is enqueued; the statistics come back only through trainer_read_stats.
 *
 * Philox streams are taken from one counter in a fixed order, so a run is reproducible and
 * resumable: per D step the noise, then G's dropout layers, then D's; per G step the same.
 */
#ifndef CLGAN_GAN_H
#define CLGAN_GAN_H

#include "data.h"
#include "loss.h"
#include "optim.h"

/* the gradient penalties': STAT_PENALTY + 2 k the sum of penalty k's values (model.h's
 * PENALTY_*), + 1 its applications */
enum { STAT_D_LOSS, STAT_G_LOSS, STAT_D_REAL, STAT_D_FAKE, STAT_N_D, STAT_N_G, STAT_NONFINITE,
       STAT_C_LOSS, STAT_C_CORRECT, STAT_C_ROWS, STAT_N_C, STAT_PENALTY,
       STAT_COUNT = STAT_PENALTY + 2 * PENALTY_KINDS };

typedef struct gan_stats {
    double d_loss, g_loss;   /* mean per step since the last read */
    double d_real, d_fake;   /* mean D(x), mean D(G(z)) over the D steps */
    long d_steps, g_steps;
    double c_loss, c_acc;    /* classifier: mean cross-entropy and accuracy per training row */
    long c_steps;
    double penalty[PENALTY_KINDS]; /* each penalty's mean value over its applications (NaN:
                                      none since the last read) */
    double augment_p;        /* train.augment's probability now */
    int nonfinite;
} gan_stats;

/* A replica's gradients of the step in flight, read from its device in buckets as the backward
 * pass makes them (src/train/replicas.c). */
typedef struct grad_buckets {
    float *stage;            /* host copy of a network's trainable gradients (the larger's) */
    size_t lo, hi;           /* the bucket being filled: [lo, hi) of the network's gradients */
    size_t *b_lo, *b_hi;     /* the buckets read so far, in the order the pass made them */
    cl_event *ev;            /* each one's read */
    int n, cap;
} grad_buckets;

struct clgan_ranks;
struct trainer;
struct classifier;

/*
 * Where a step's replicas meet (replicas.c's group of devices, threads, gradient buckets and
 * MPI ranks, installed on every replica by trainer_init_replicas). gan.c states each step for
 * one replica and calls these at the meeting points; without a driver (NULL) the replica is
 * alone and there is nothing to meet: gan.c calls nothing of replicas.c.
 */
typedef struct replica_driver {
    /* fn on every replica of this process (each in a thread of its own where there are several) */
    clgan_status (*each)(struct trainer *t, clgan_status (*fn)(struct trainer *));
    /* the relativistic loss's means over every replica's rows */
    clgan_status (*relativistic)(struct trainer *t, int g_part);
    /* replica r's backward pass of network w is enqueued: its last gradient bucket is read */
    clgan_status (*flush)(struct trainer *r, clgan_net w);
    /* the gradients of network w summed over every replica and written back to each */
    clgan_status (*reduce)(struct trainer *t, clgan_net w);
    /* frees replica 0's peers, and each replica's buckets (the group with replica 0's) */
    void (*release)(struct trainer *r);
} replica_driver;

typedef struct trainer {
    clgan_device *dev;
    const clgan_model *m;
    dataset *data;           /* borrowed, uploaded */
    net *g, *d;              /* a GAN's networks */
    struct classifier *cls;  /* a classifier model's training (classify.c), in place of G and D */
    cl_kernel k_clip;        /* wasserstein: the critic's weight clipping */
    cl_mem ema;              /* train.ema: G's parameters averaged (g->n_params floats; the
                                running statistics copied as they are) */
    cl_kernel k_ema;
    net *g_ema;              /* a generator that runs the averaged weights, for sampling */
    loss loss;
    optim opt[MODEL_NETS];   /* indexed by clgan_net */
    cl_mem stats;
    cl_kernel k_stats;
    cl_kernel k_flag;        /* flag_nonfinite: the parameters into the statistics' flag */
    /* gradient penalties (penalty.h): their summed parameter gradients, added into D's as the
     * loss's pass writes them; the rows a penalty's pass puts in place of the real ones;
     * which penalties the coming D step applies (bit k: PENALTY_k) */
    cl_mem pen_grads, pen_save, pen_labels;
    unsigned pen_now;
    /* train.augment: D's input rows before they are augmented, the kernel, the probability
     * of each op now, and the stream of the latest G step's draws (its backward pass takes
     * the same) */
    cl_mem aug_src;
    cl_kernel k_aug;
    float aug_p;
    uint64_t aug_stream;
    /* train.augment.adaptive: the sum of sign(D(x)) over the real rows since the last
     * adjustment of aug_p, and their count (2 floats), and the kernel adding to them */
    cl_mem ada;
    cl_kernel k_sign;
    float ada_state[3];      /* trainer_ada_sync's */
    uint64_t stream;         /* next Philox stream */
    uint64_t iter;           /* iterations done */
    long epoch;              /* current epoch (0-based) */
    long batch_in_epoch;     /* next minibatch of the epoch */
    long batches_per_epoch;
    int sample_capacity;     /* rows of G available for sampling */
    int fake_from_data;      /* theory checks: "generated" rows are data too (p_g = p_data) */
    char run_id[17];         /* 16 hex digits naming the run, written into checkpoints */
    /* data parallelism (issue 16): this replica computes `rows` of each half of the global
     * batch, from global row row0; the other replicas of this process are peers[0 .. n_peers)
     * (each a trainer on its own device with its own copy of the set), driven in lockstep by
     * this one; the other processes' (MPI ranks) are reached through comm */
    int rows;
    long row0;
    struct trainer *peers;
    dataset *peer_data;
    int n_peers;
    struct clgan_ranks *comm;       /* borrowed; NULL: this process alone */
    const replica_driver *driver; /* NULL: this replica alone */
    struct replica_group *grp; /* this process's replicas, each running its passes in a
                                  thread of its own (several devices); replica 0's, shared */
    int local;               /* this replica's index in this process */
    int replicas;            /* R, over every process (1: nothing to reduce) */
    grad_buckets bk;
    int step_n, step_real;   /* the step in flight: D's rows, of which real (the loss's) */
    double comm_s;           /* seconds from the first bucket's gradients on the host to the
                                last sum written back, over the steps */
    double comm_exposed_s;   /* the part of comm_s after the devices finished their passes */
    double comm_bytes;       /* bytes of gradients reduced */
} trainer;

/*
 * Builds both networks (G with room for `sample_rows` rows too), optimizers, loss and stats on
 * dev, draws the initial parameters from the seed, and starts epoch 0; for a classifier model,
 * its one network, trained by softmax cross-entropy on the data's labels (sample_rows unused).
 * The dataset must be uploaded to dev. Messages go to dev->err.
 */
clgan_status trainer_init(trainer *t, clgan_device *dev, const clgan_model *m, dataset *data,
                          int sample_rows);
void trainer_free(trainer *t);

/*
 * A GAN trainer over R devices of this process and, through c (NULL: this process alone), the
 * same over every MPI rank: of the R x ranks replicas, the one of rank k on devs[r] is global
 * replica g = k R + r and computes rows [g m/G, (g + 1) m/G) of each step's batch of m (G
 * replicas in all). The gradients are summed over every replica before every update (on the
 * host, in bucket reads that overlap the backward pass), so all hold the same parameters, and
 * the result is the one-device run's up to the order of float sums. data is loaded and
 * uploaded to devs[0]; the other devices get copies over its host data. Refuses what it cannot
 * split (trainer_check_split) with a message in devs[0]->err, and checks that every replica
 * starts from the same parameters. The devices stay the caller's.
 */
clgan_status trainer_init_replicas(trainer *t, clgan_device **devs, int R, const clgan_model *m,
                                   dataset *data, int sample_rows, struct clgan_ranks *c);

/* Whether the model splits over L devices of each of c's ranks (trainer_init_replicas's
 * refusals, which every rank makes alike); the message names what splits it. */
clgan_status trainer_check_split(const clgan_model *m, int L, const struct clgan_ranks *c, clgan_err *e);

/* After a resume wrote replica 0's state: the same parameters, optimizer state, average and
 * counters into every other replica. */
clgan_status trainer_sync_replicas(trainer *t);

/*
 * Adaptive augmentation's state (aug_p, the sums since its last adjustment over every replica
 * and rank) to the host, and back onto every replica: checkpoints keep it for an exact resume.
 * Under mpirun trainer_ada_read is collective: every rank calls it. trainer_ada_sync keeps its
 * result in ada_state, which checkpoint_save writes (rank 0 alone writes checkpoints: every
 * rank syncs first; without ranks, checkpoint_save syncs itself).
 */
clgan_status trainer_ada_read(trainer *t, float state[3]);
clgan_status trainer_ada_write(trainer *t, const float state[3]);
clgan_status trainer_ada_sync(trainer *t);

/* Enqueues one iteration of Algorithm 1; of a classifier, one step on one minibatch. */
clgan_status trainer_iteration(trainer *t);

/* Replica i of this process (0: t itself). */
trainer *trainer_replica(trainer *t, int i);

/* The network w of the trainer's model (t->g, t->d or t->c). */
net *trainer_net(const trainer *t, clgan_net w);

/*
 * A classifier's accuracy on n images x (host, the model's data range) with labels y, run in
 * evaluation mode in chunks of its capacity. Waits for the device.
 */
clgan_status classifier_accuracy(net *c, const float *x, const uint8_t *y, long n, double *acc);

/* One discriminator step alone (G frozen): for training D towards D* in the theory checks. */
clgan_status trainer_d_step(trainer *t);

/* The sync point: waits for the device, reads and resets the accumulated statistics. */
clgan_status trainer_read_stats(trainer *t, gan_stats *out);

/*
 * Whether any loss or logit since the statistics were last read was NaN or Inf, or any
 * parameter, optimizer state or average is now (reads one flag; the statistics stay). Waits
 * for the device. trainer_read_stats makes the same check of the parameters.
 */
clgan_status trainer_finite(trainer *t, int *finite);

/*
 * After a NaN or Inf: names in `where` every parameter tensor that holds one, by its name in
 * checkpoints with its layer's kind ("discriminator.6.weight (dense)", the first few and how
 * many more), else the first layer whose output holds one ("generator layer 2 (dense) output").
 * By the time the flag is read a NaN may have spread from one network into the other, so
 * all are named, each network's in layer order.
 */
clgan_status trainer_locate_nonfinite(trainer *t, char *where, size_t len);

/* Every replica's learning rates: the schedules' times s (--on-nan rollback halves them). */
void trainer_set_lr_scale(trainer *t, double s);

/* Re-positions the data order after a resume (epoch and batch_in_epoch set). */
clgan_status trainer_seek(trainer *t);

/* Runs G in evaluation mode on `rows` noise vectors z (host, rows x dim); out gets G(z). With
 * train.ema, the averaged weights make the samples. */
clgan_status trainer_generate(trainer *t, const float *z, int rows, float *out);

/* The generator that samples: t->g, or with train.ema one holding the averaged weights (brought
 * up to date, enqueued). For sample grids, Parzen and FID during training. */
clgan_status trainer_sampler(trainer *t, net **out);

/*
 * A trainer on random data of the model's shape (8 epochs' worth of minibatches), for bench and
 * compare: owns the device it is given, the dataset and the trainer.
 */
typedef struct synthetic_run {
    clgan_device *dev;
    dataset data;
    trainer t;
    int up; /* t was initialised */
} synthetic_run;

/* Random data of the model's shape, 8 epochs' worth of minibatches, uploaded to dev. */
clgan_status synthetic_data(const clgan_model *m, clgan_device *dev, dataset *ds, clgan_err *e);
/* s->dev must be open; builds the dataset and the trainer. Messages go to e. */
clgan_status synthetic_run_start(synthetic_run *s, const clgan_model *m, clgan_err *e);
/* Frees the trainer, the dataset and the device. */
void synthetic_run_free(synthetic_run *s);

#endif /* CLGAN_GAN_H */
