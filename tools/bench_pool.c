/* bench_pool.c -- cost of one acquire + release of a warm pooled connection, against the
 * real database in DATABASE_URL. `make bench-pool` runs it under strace to show that the
 * trust window makes no system call: the syscall count does not grow with iterations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "pool.h"
#include "timeutil.h"

int main(int argc, char **argv)
{
    char err[256];
    long iterations = 1000000;
    enum pool_error perr;
    const char *why;
    worker_slot_t *slot;
    db_conn_t *conn;
    int64_t t0, elapsed;

    if (argc == 2 && config_parse_int(argv[1], 1, 1000000000, &iterations) != 0) {
        fprintf(stderr, "usage: bench_pool [ITERATIONS]\n");
        return 2;
    }
    setenv("AUTH_REQUIRED", "0", 1);
    if (config_load(err, sizeof err) != 0) {
        fprintf(stderr, "configuration: %s\n", err);
        return 2;
    }
    slot = budget_claim_slot("bench");
    pool_init("bench", slot);
    conn = pool_acquire(2000, &perr, &why); /* the one connect, outside the timing */
    if (conn == NULL) {
        fprintf(stderr, "cannot connect: %s\n", why);
        return 1;
    }
    pool_release(conn);
    t0 = time_mono_us();
    for (long i = 0; i < iterations; i++) {
        conn = pool_acquire(2000, &perr, &why);
        if (conn == NULL) {
            fprintf(stderr, "acquire failed: %s\n", why);
            return 1;
        }
        pool_release(conn);
    }
    elapsed = time_mono_us() - t0;
    printf("acquire+release: %ld iterations in %.3f s = %.1f ns each; connects %llu\n",
           iterations, (double)elapsed / 1e6, (double)elapsed * 1000.0 / (double)iterations,
           (unsigned long long)slot->pool.connects);
    pool_shutdown();
    return 0;
}
