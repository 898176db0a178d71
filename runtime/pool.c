/* pool.c -- a session's worker threads for kernels that split their work
 * (kl_parallel_for).  The calling thread takes a share too, so a pool of
 * N threads starts N-1 workers.  OpenBLAS is never called from inside a
 * parallel region: it has threads of its own, and the two would
 * oversubscribe the cores. */
#include <pthread.h>
#include <string.h>

#include "pool.h"

struct kl_pool {
    kl_env *env;
    int n_threads;                 /* including the caller */
    pthread_t *workers;
    size_t workers_bytes;          /* the allocation behind workers */
    pthread_mutex_t lock;
    pthread_cond_t work_ready, work_done;
    /* the current job */
    kl_range_fn fn;
    void *arg;
    int64_t n;
    uint64_t generation;           /* bumped per job; workers wait for a new one */
    int pending;                   /* workers still busy with this job */
    bool stop;
};

typedef struct worker_arg {
    kl_pool *pool;
    int index;                     /* 1..n_threads-1; the caller is 0 */
} worker_arg;

static void share(int64_t n, int parts, int index, int64_t *lo, int64_t *hi)
{
    int64_t base = n / parts, extra = n % parts;
    *lo = index * base + (index < extra ? index : extra);
    *hi = *lo + base + (index < extra ? 1 : 0);
}

static void *worker_main(void *p)
{
    worker_arg *w = p;
    kl_pool *pool = w->pool;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        seen = pool->generation;
        kl_range_fn fn = pool->fn;
        void *arg = pool->arg;
        int64_t lo, hi;
        share(pool->n, pool->n_threads, w->index, &lo, &hi);
        pthread_mutex_unlock(&pool->lock);
        if (lo < hi)
            fn(arg, lo, hi);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->work_done);
        pthread_mutex_unlock(&pool->lock);
    }
}

kl_pool *kl_pool_new(kl_env *env, int n_threads)
{
    if (n_threads <= 1)
        return NULL; /* kl_parallel_for runs inline on a NULL pool */
    kl_pool *pool = kl_alloc(env, sizeof *pool);
    if (!pool)
        return NULL;
    pool->env = env;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    size_t bytes = (size_t)n_threads * (sizeof(pthread_t) + sizeof(worker_arg));
    pool->workers = kl_alloc(env, bytes);
    pool->workers_bytes = bytes;
    if (!pool->workers) {
        kl_pool_free(pool);
        return NULL;
    }
    worker_arg *args = (worker_arg *)(pool->workers + n_threads);
    int started = 1;
    for (; started < n_threads; started++) {
        args[started] = (worker_arg){pool, started};
        if (pthread_create(&pool->workers[started], NULL, worker_main, &args[started]) != 0)
            break;
    }
    pool->n_threads = started; /* fewer threads if the system refused some */
    return pool;
}

void kl_pool_free(kl_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; pool->workers && i < pool->n_threads; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    kl_env *env = pool->env;
    kl_free(env, pool->workers, pool->workers_bytes);
    kl_free(env, pool, sizeof *pool);
}

int kl_pool_threads(const kl_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

int kl_pool_slot(const kl_pool *pool, int64_t n, int64_t lo)
{
    int parts = kl_pool_threads(pool);
    for (int i = 1; i < parts; i++) {
        int64_t first, end;
        share(n, parts, i, &first, &end);
        if (first > lo)
            return i - 1;
    }
    return parts - 1;
}

void kl_parallel_for(kl_pool *pool, int64_t n, kl_range_fn fn, void *arg)
{
    if (!pool || n < 2) {
        if (n > 0)
            fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->pending = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    int64_t lo, hi;
    share(n, pool->n_threads, 0, &lo, &hi);
    if (lo < hi)
        fn(arg, lo, hi);
    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->work_done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
