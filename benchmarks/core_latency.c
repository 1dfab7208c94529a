/* Round trip of one cache line between CPUs 0 and 1, in nanoseconds.
 *
 * bench_threads_memory.py compiles and runs this before each round of its
 * thread timings. Hogwild threads pass the shared layer's cache lines between
 * the cores at every step, so their speed-up follows this latency; on this
 * project's virtual machine it switches, minute by minute, between about 60 ns
 * (the two virtual CPUs on neighbouring cores of the host) and 450-900 ns
 * (far apart), which the benchmark's single-thread fits do not see.
 *
 * Build: cc -O2 -pthread core_latency.c -o core_latency (Linux only).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define ROUND_TRIPS 100000

static _Alignas(64) atomic_long turn = 0;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *unused)
{
    (void)unused;
    pin(1);
    for (long i = 0; i < ROUND_TRIPS; i++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void)
{
    pthread_t other;
    struct timespec start, stop;
    pin(0);
    if (pthread_create(&other, NULL, answer, NULL) != 0)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < ROUND_TRIPS; i++) {
        atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &stop);
    pthread_join(other, NULL);
    printf("%.1f\n", ((stop.tv_sec - start.tv_sec) * 1e9
                      + (stop.tv_nsec - start.tv_nsec)) / ROUND_TRIPS);
    return 0;
}
