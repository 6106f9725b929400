/*
 * replicas.h - what gan.c calls of data parallelism (replicas.c): the bucketed sum of the
 * replicas' gradients. trainer_init_replicas and trainer_sync_replicas are in gan.h.
 */
#ifndef CLGAN_REPLICAS_H
#define CLGAN_REPLICAS_H

#include "gan.h"

/*
 * Runs fn on every replica of this process, each in a thread of its own (they may meet inside
 * their passes: batch norm's statistics over the global batch), replica 0 in the caller's (the
 * one that calls MPI); one replica runs in the caller's alone. The first failure is returned,
 * on t's device with the failing device named.
 */
clgan_status replicas_each(trainer *t, clgan_status (*fn)(trainer *));

/* After replica r's backward pass of network w is enqueued: reads its last, open bucket. */
clgan_status replicas_flush(trainer *r, clgan_net w);

/*
 * Sums every replica's gradients of network w, over this process's devices and the ranks, as
 * their buckets reach the host, and writes the sum into every replica's gradients (a no-op with
 * one replica). Waits for every device.
 */
clgan_status replicas_reduce(trainer *t, clgan_net w);

/*
 * The relativistic loss over several replicas: after every replica's forward pass of a step
 * (g_part: a G step's), the means of the real and generated logits over every replica's rows,
 * and the sums that move them (cl/loss.cl's ra), into every replica's loss, which takes them
 * instead of its own rows'. Waits for every device.
 */
clgan_status replicas_relativistic(trainer *t, int g_part);

/* Releases replica r's bucket reads and host copy, and replica 0 the group of threads. */
void replicas_release(trainer *r);

#endif /* CLGAN_REPLICAS_H */
