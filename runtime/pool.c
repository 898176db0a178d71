/* pool.c -- a session's worker threads for kernels that split their work
 * (kl_parallel_for).  The calling thread takes a share too, so a pool of
 * N threads starts N-1 workers.  Kernels call OpenBLAS from inside a
 * parallel region, each thread on its own part of a product (ops/blas.c).
 * keel leaves OpenBLAS's own thread count alone; above one, OpenBLAS's
 * threads and the pool's would oversubscribe the cores, so keel.h tells
 * embedders to set it to one.
 *
 * A network runs one parallel kernel after another, tens of microseconds
 * each: waking a sleeping thread through a condition variable for each
 * cost more than the second thread gained (MobileNet ran no faster on two
 * threads).  So a worker that finished a job spins for a short while
 * watching for the next one before it sleeps, and the caller spins for
 * the workers' end before it sleeps.
 *
 * A new thread starts on its creator's CPU, and two threads that never
 * block stay there: Linux did not move keel's worker to the idle core for
 * the first ~20 runs of MobileNet-v2 (each ran at one thread's speed).
 * So a worker is started with the caller's CPU excluded from its mask
 * and, once running elsewhere, widens its mask back to the caller's; and
 * a worker that finds itself on the CPU the caller posted a job from
 * (Linux wakes a thread near its waker, and balances two spinning threads
 * slowly: OpenBLAS's own idle workers spin at start-up) steps off it the
 * same way.  Checking costs one sched_getcpu() per job. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "pool.h"

#define WORKER_SPIN_NS 200000   /* how long an idle worker watches for a job */
#define CALLER_SPIN_NS 2000000  /* how long the caller watches for the workers' end */

/* Thread t's home segment of a job, items [t * span, (t + 1) * span),
 * claimed chunk by chunk through `next`; a cache line each. */
typedef struct home_segment {
    _Atomic int64_t next;
    char pad[64 - sizeof(int64_t)];
} home_segment;

struct kl_pool {
    kl_env *env;
    int n_threads;                 /* including the caller */
    pthread_t *workers;
    size_t workers_bytes;          /* the allocation behind homes and workers */
    pthread_mutex_t lock;
    pthread_cond_t work_ready, work_done;
    /* the current job: written before generation is bumped, read after */
    kl_range_fn fn;
    void *arg;
    int64_t n, chunk;
    int64_t span;                  /* items of each thread's home segment */
    bool pinned;                   /* thread t runs range t alone (kl_parallel_for_each_thread) */
    home_segment *homes;           /* per thread: the next item of its segment no thread has claimed */
    _Atomic uint64_t generation;   /* bumped per job; workers wait for a new one */
    _Atomic int pending;           /* workers still busy with this job */
    _Atomic bool stop;
    int sleepers;                  /* workers asleep on work_ready (under lock) */
#ifdef __linux__
    cpu_set_t cpus;                /* the creating thread's CPUs, for the workers */
    bool spread;                   /* workers start off the creator's CPU */
    _Atomic int caller_cpu;        /* where the caller posted the current job */
#endif
    bool caller_asleep;            /* the caller waits on work_done (under lock) */
};

typedef struct worker_arg {
    kl_pool *pool;
    int index;                     /* 1..n_threads-1; the caller is 0 */
} worker_arg;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Between two looks while spinning (i counts the looks): mostly a pause,
 * which leaves the core's resources to a sibling hardware thread, and
 * every 16th look a yield, which gives the core to whatever else is
 * runnable on it: on a loaded machine a spinner that kept its core made
 * the thread it waited for wait a time slice (slow medians), and
 * yielding at every look (a system call each) slowed the caller's
 * serial steps on a two-vCPU machine. */
static inline void cpu_relax(int i)
{
    if ((i & 15) == 15) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    for (int k = 0; k < 8; k++)
        __builtin_ia32_pause();
#endif
}

/* The generation of the next job after `seen` (or any, once stopping). */
static uint64_t next_job(kl_pool *pool, uint64_t seen)
{
    int64_t until = now_ns() + WORKER_SPIN_NS;
    for (int i = 0;; i++) {
        uint64_t g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (g != seen || atomic_load(&pool->stop))
            return g;
        cpu_relax(i);
        if ((i & 7) == 7 && now_ns() > until)
            break;
    }
    pthread_mutex_lock(&pool->lock);
    pool->sleepers++;
    while (!atomic_load(&pool->stop) && atomic_load(&pool->generation) == seen)
        pthread_cond_wait(&pool->work_ready, &pool->lock);
    pool->sleepers--;
    uint64_t g = atomic_load(&pool->generation);
    pthread_mutex_unlock(&pool->lock);
    return g;
}

/* The pool slot of the thread running a share of a job: 0 for the
 * caller, 1.. for the workers (kl_pool_slot).  Per thread, so it needs
 * no lock; it is read only inside a job's fn, on the thread it was set. */
static _Thread_local int current_slot;

/* Runs ranges of the current job, claimed one at a time, until none is
 * left: first those of the thread's home segment, then those left in the
 * others'.  Claimed, not dealt out in advance: a worker that is slow to
 * wake (a sleeping vCPU wakes through the hypervisor) no longer holds up a
 * step whose every range the caller could have run.  Homes first: thread
 * t takes the same part of each step (its share of the channels, or of the
 * positions) when all are awake, so that a step reads what the step before
 * wrote on the same core; claimed from one counter, the caller or the
 * worker took the first part by turns, and EfficientNet-B0's depthwise
 * convs read half of the expansions' output from the other core. */
static void run_share(kl_pool *pool, int slot)
{
    current_slot = slot;
    if (pool->pinned) {
        pool->fn(pool->arg, slot, slot + 1);
        return;
    }
    for (int i = 0; i < pool->n_threads; i++) {
        const int home = (slot + i) % pool->n_threads;
        const int64_t end = (home + 1) * pool->span < pool->n ? (home + 1) * pool->span : pool->n;
        for (;;) {
            int64_t lo = atomic_fetch_add_explicit(&pool->homes[home].next, pool->chunk, memory_order_relaxed);
            if (lo >= end)
                break;
            int64_t hi = lo + pool->chunk < end ? lo + pool->chunk : end;
            pool->fn(pool->arg, lo, hi);
        }
    }
}

/* On the CPU the caller posted this job from: move to another of its CPUs. */
static void step_off_caller(kl_pool *pool)
{
#ifdef __linux__
    int cpu = atomic_load_explicit(&pool->caller_cpu, memory_order_relaxed);
    if (!pool->spread || cpu < 0 || sched_getcpu() != cpu)
        return;
    cpu_set_t elsewhere = pool->cpus;
    CPU_CLR(cpu, &elsewhere);
    if (CPU_COUNT(&elsewhere) && pthread_setaffinity_np(pthread_self(), sizeof elsewhere, &elsewhere) == 0)
        pthread_setaffinity_np(pthread_self(), sizeof pool->cpus, &pool->cpus);
#else
    (void)pool;
#endif
}

static void *worker_main(void *p)
{
    worker_arg *w = p;
    kl_pool *pool = w->pool;
#ifdef __linux__
    if (pool->spread) /* now on another CPU: free to go anywhere the caller may */
        pthread_setaffinity_np(pthread_self(), sizeof pool->cpus, &pool->cpus);
#endif
    uint64_t seen = 0;
    for (;;) {
        seen = next_job(pool, seen);
        if (atomic_load(&pool->stop))
            return NULL;
        step_off_caller(pool);
        run_share(pool, w->index);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->lock);
            if (pool->caller_asleep)
                pthread_cond_signal(&pool->work_done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
}

kl_pool *kl_pool_new(kl_env *env, int n_threads)
{
    if (n_threads <= 1)
        return NULL; /* kl_parallel_for runs inline on a NULL pool */
    kl_pool *pool = kl_alloc(env, sizeof *pool);
    if (!pool)
        return NULL;
    memset(pool, 0, sizeof *pool);
    pool->env = env;
    pool->n_threads = n_threads;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, false);
#ifdef __linux__
    atomic_init(&pool->caller_cpu, -1);
#endif
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    size_t bytes = (size_t)n_threads * (sizeof(home_segment) + sizeof(pthread_t) + sizeof(worker_arg));
    pool->homes = kl_alloc(env, bytes); /* lines apart with the default allocator's 64-byte alignment */
    pool->workers_bytes = bytes;
    if (!pool->homes) {
        kl_pool_free(pool);
        return NULL;
    }
    for (int t = 0; t < n_threads; t++)
        atomic_init(&pool->homes[t].next, 0);
    pool->workers = (pthread_t *)(pool->homes + n_threads);
    worker_arg *args = (worker_arg *)(pool->workers + n_threads);
    pthread_attr_t attr;
    pthread_attr_t *attrp = pthread_attr_init(&attr) == 0 ? &attr : NULL;
#ifdef __linux__
    int here = sched_getcpu();
    if (attrp && here >= 0 && pthread_getaffinity_np(pthread_self(), sizeof pool->cpus, &pool->cpus) == 0 &&
        CPU_ISSET(here, &pool->cpus) && CPU_COUNT(&pool->cpus) > 1) {
        cpu_set_t elsewhere = pool->cpus;
        CPU_CLR(here, &elsewhere);
        pool->spread = pthread_attr_setaffinity_np(attrp, sizeof elsewhere, &elsewhere) == 0;
    }
#endif
    int started = 1;
    for (; started < n_threads; started++) {
        args[started] = (worker_arg){pool, started};
        if (pthread_create(&pool->workers[started], attrp, worker_main, &args[started]) != 0)
            break;
    }
    if (attrp)
        pthread_attr_destroy(attrp);
    pool->n_threads = started; /* fewer threads if the system refused some */
    return pool;
}

void kl_pool_free(kl_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; pool->workers && i < pool->n_threads; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    kl_env *env = pool->env;
    kl_free(env, pool->homes, pool->workers_bytes);
    kl_free(env, pool, sizeof *pool);
}

int kl_pool_threads(const kl_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

int kl_pool_slot(const kl_pool *pool, int64_t n, int64_t lo)
{
    (void)n, (void)lo;
    return pool ? current_slot : 0;
}

void kl_parallel_for(kl_pool *pool, int64_t n, kl_range_fn fn, void *arg)
{
    kl_parallel_for_fine(pool, n, 1, fn, arg);
}

static void post_and_run(kl_pool *pool);

void kl_parallel_for_each_thread(kl_pool *pool, kl_range_fn fn, void *arg)
{
    if (!pool) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    pool->n = pool->n_threads;
    pool->chunk = pool->span = 1;
    pool->pinned = true;
    post_and_run(pool);
}

void kl_parallel_for_fine(kl_pool *pool, int64_t n, int ranges_per_thread, kl_range_fn fn, void *arg)
{
    if (!pool || n < 2) {
        if (n > 0)
            fn(arg, 0, n);
        return;
    }
    /* every worker is done with the last job: these plain writes race with nothing */
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->pinned = false;
    /* ranges_per_thread ranges per thread, claimed, not dealt: a thread
     * that is ready takes the ranges of one that is late to wake or has
     * lost its core for a while.  Kernels whose ranges each cost a set-up
     * (packing a block of X) ask for one range per thread, as
     * kl_parallel_for does: four made MobileNet-v2 on two threads slower.
     * Each thread's home is its even share, whatever the ranges: with 4
     * blocks, 4 ranges per thread and 2 threads, ranges of one item and
     * homes of two (not of four, which left the second thread none). */
    const int64_t per_thread = ranges_per_thread > 1 ? ranges_per_thread : 1;
    pool->span = (n + pool->n_threads - 1) / pool->n_threads;
    pool->chunk = (pool->span + per_thread - 1) / per_thread;
    post_and_run(pool);
}

/* Posts the job set up in pool, runs the caller's share and waits for the
 * workers'. */
static void post_and_run(kl_pool *pool)
{
    for (int t = 0; t < pool->n_threads; t++)
        atomic_store_explicit(&pool->homes[t].next, t * pool->span, memory_order_relaxed);
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_relaxed);
#ifdef __linux__
    if (pool->spread)
        atomic_store_explicit(&pool->caller_cpu, sched_getcpu(), memory_order_relaxed);
#endif
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_mutex_lock(&pool->lock);
    if (pool->sleepers)
        pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    run_share(pool, 0);
    int64_t until = now_ns() + CALLER_SPIN_NS;
    for (int i = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; i++) {
        cpu_relax(i);
        if ((i & 7) == 7 && now_ns() > until)
            break;
    }
    pthread_mutex_lock(&pool->lock);
    pool->caller_asleep = true;
    while (atomic_load(&pool->pending) > 0)
        pthread_cond_wait(&pool->work_done, &pool->lock);
    pool->caller_asleep = false;
    pthread_mutex_unlock(&pool->lock);
}
