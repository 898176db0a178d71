/* core_link.c -- how fast two CPUs hand data to each other: for
 * scripts/compare_ort.py, which compiles it on first use and runs it
 * between turns at two threads, to print beside the timings.
 *
 *   core_link CPU_A CPU_B [ROUND_TRIPS]
 *
 * Two threads, one pinned to each CPU, pass a flag back and forth
 * ROUND_TRIPS times (default 20000, in 10 batches: rounded down to a
 * multiple of 10); then the thread on CPU_B writes a
 * 512 KB buffer and the one on CPU_A reads it, 20 times.  Prints one JSON
 * line: the median round trip in ns and the read's GB/s (lines the other
 * core had just written).  On the 2-vCPU EPYC the host moved between
 * about 120 ns and 83 GB/s and about 470 ns and 27 GB/s within minutes,
 * and a conv split over the two threads ran up to 35 % slower in the
 * second state (docs/performance.md). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUFFER_FLOATS (512 * 1024 / 4)
#define READS 20
#define BATCHES 10

static _Atomic int flag __attribute__((aligned(64)));
static _Atomic int phase __attribute__((aligned(64)));
static float *buffer;
static int cpu_b, round_trips;
static volatile float sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *other_side(void *unused)
{
    (void)unused;
    pin(cpu_b);
    for (int i = 0; i < round_trips; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 1)
            ;
        atomic_store_explicit(&flag, 0, memory_order_release);
    }
    for (int r = 0; r < READS; r++) {
        while (atomic_load_explicit(&phase, memory_order_acquire) != 2 * r + 1)
            ;
        for (size_t i = 0; i < BUFFER_FLOATS; i++)
            buffer[i] = (float)(i + (size_t)r);
        atomic_store_explicit(&phase, 2 * r + 2, memory_order_release);
    }
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: core_link CPU_A CPU_B [ROUND_TRIPS]\n");
        return 2;
    }
    const int cpu_a = atoi(argv[1]);
    cpu_b = atoi(argv[2]);
    round_trips = (argc > 3 ? atoi(argv[3]) : 20000) / BATCHES * BATCHES; /* whole batches */
    if (round_trips < BATCHES || pin(cpu_a) != 0) {
        fprintf(stderr, "core_link: cannot run on CPU %d\n", cpu_a);
        return 1;
    }
    buffer = aligned_alloc(64, BUFFER_FLOATS * sizeof *buffer);
    pthread_t t;
    if (!buffer || pthread_create(&t, NULL, other_side, NULL) != 0)
        return 1;
    memset(buffer, 0, BUFFER_FLOATS * sizeof *buffer);
    double batch_ns[BATCHES];
    const int per_batch = round_trips / BATCHES;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < per_batch; i++) {
            atomic_store_explicit(&flag, 1, memory_order_release);
            while (atomic_load_explicit(&flag, memory_order_acquire) != 0)
                ;
        }
        batch_ns[b] = (now() - t0) / per_batch * 1e9;
    }
    double read_s = 0;
    for (int r = 0; r < READS; r++) {
        atomic_store_explicit(&phase, 2 * r + 1, memory_order_release);
        while (atomic_load_explicit(&phase, memory_order_acquire) != 2 * r + 2)
            ;
        double t0 = now();
        float sum = 0;
        for (size_t i = 0; i < BUFFER_FLOATS; i += 16) /* one float a cache line */
            sum += buffer[i];
        sink = sum;
        read_s += now() - t0;
    }
    pthread_join(t, NULL);
    qsort(batch_ns, BATCHES, sizeof *batch_ns, by_value);
    printf("{\"round_trip_ns\": %.0f, \"handoff_gbps\": %.1f}\n", 0.5 * (batch_ns[BATCHES / 2 - 1] + batch_ns[BATCHES / 2]),
           READS * (double)BUFFER_FLOATS * sizeof *buffer / read_s / 1e9);
    free(buffer);
    return 0;
}
