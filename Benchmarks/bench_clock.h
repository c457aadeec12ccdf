/* bench_clock.h - the clock the C baselines time themselves with: CLOCK_MONOTONIC in seconds,
 * as spantap-bench reads it, so a C and a Swift figure of one row cover the same kind of span. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <time.h>

static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
