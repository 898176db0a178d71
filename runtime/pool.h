/* pool.h -- worker threads owned by a session, for kernels that split
 * their work into ranges. */
#ifndef KL_POOL_H
#define KL_POOL_H

#include "base.h"

typedef struct kl_pool kl_pool;

/* fn(arg, lo, hi) handles items [lo, hi). */
typedef void (*kl_range_fn)(void *arg, int64_t lo, int64_t hi);

/* A pool of n_threads (the caller counts as one); NULL for n_threads <= 1
 * or when the allocation fails (work then runs on the calling thread). */
kl_pool *kl_pool_new(kl_env *env, int n_threads);
void kl_pool_free(kl_pool *pool);
int kl_pool_threads(const kl_pool *pool);

/* Runs fn over [0, n) in contiguous ranges that the threads claim one
 * after another (one per thread: n / threads items each, rounded up; a
 * thread that is ready first may run a late one's), and waits for all.
 * Runs inline when pool is NULL.  Not reentrant: never call it from fn. */
void kl_parallel_for(kl_pool *pool, int64_t n, kl_range_fn fn, void *arg);
/* The same with each thread's share (n / threads items, rounded up) in
 * ranges_per_thread ranges, for kernels whose ranges cost nothing to
 * start: a thread that is ahead takes over the ranges of one that is
 * slower or lost its core for a while. */
void kl_parallel_for_fine(kl_pool *pool, int64_t n, int ranges_per_thread, kl_range_fn fn, void *arg);

/* Runs fn(arg, t, t + 1) on thread t (kl_pool_slot t) for each of the
 * pool's threads (fn(arg, 0, 1) inline when pool is NULL), and waits for
 * all.  No thread takes over another's range, so a late worker holds up
 * the step: for kernels whose threads keep their own part of the data in
 * their own caches from one step to the next. */
void kl_parallel_for_each_thread(kl_pool *pool, kl_range_fn fn, void *arg);

/* Inside fn of a kl_parallel_for: which thread (0 .. kl_pool_threads - 1)
 * runs this range, for kernels that give each thread its own part of the
 * scratch (0 when pool is NULL).  n and lo are not needed any more: the
 * ranges a thread runs follow one another, never overlap in time. */
int kl_pool_slot(const kl_pool *pool, int64_t n, int64_t lo);

#endif
