/* ml_batch.c -- the ML batch for cron: scores every log of the last 24 hours that has no
 * prediction yet into ml_predictions (the code path of POST /api/ml {"action": "batch"}).
 *
 * Usage: ml_batch (database from DATABASE_URL). Prints one line of counts.
 * Exit status: 0 success, 1 database error, 2 usage error. */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "mlbatch.h"
#include "timeutil.h"

int main(int argc, char **argv)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {getenv("DATABASE_URL"), "10", "elog-ml-batch", NULL};
    char from[40], to[40];
    mlbatch_counts_t counts;
    mlbatch_db_t db;
    PGconn *pg;
    int rc;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: ml_batch (database from DATABASE_URL)\n");
        return 2;
    }
    pg = PQconnectdbParams(vals[0] != NULL ? keys : keys + 1, vals[0] != NULL ? vals : vals + 1, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "ml_batch: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    db.exec = mlbatch_exec_pg;
    db.arg = pg;
    rc = mlbatch_run(&db, "cli", &counts);
    PQfinish(pg);
    if (rc != 0)
        return 1;
    printf("ml_batch: window %s .. %s: scored %ld, inserted %ld, updated %ld in %lld ms\n",
           time_format_rfc3339(counts.window_from_ms, from, sizeof from),
           time_format_rfc3339(counts.window_to_ms, to, sizeof to), counts.scored,
           counts.inserted, counts.updated, (long long)counts.duration_ms);
    return 0;
}
