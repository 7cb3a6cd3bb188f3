/* elogctl.c -- operator tool: validates configuration, creates and removes the host-wide
 * connection budget, prints its arithmetic and its live use. Used by scripts/stack.sh. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "config.h"
#include "jwt.h"

static int usage(void)
{
    fprintf(stderr, "usage: elogctl check-config | budget-init ROUTES WORKERS_IN_ALL | budget-remove |\n"
                    "               budget-status | mask-dsn DSN |\n"
                    "               token USER_ID USERNAME ROLE PERM[,PERM...] [TTL_S]\n"
                    "Uses ELOG_RUN_DIR and the configuration variables of README.md.\n");
    return 2;
}

/* Prints whether the budget fits under the server's max_connections minus reserved slots. */
static void print_server_fit(int budget)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {cfg.database_url, "5", "elog-admin", NULL};
    PGconn *pg = PQconnectdbParams(cfg.database_url != NULL ? keys : keys + 1,
                                   cfg.database_url != NULL ? vals : vals + 1, 1);
    PGresult *r;

    if (PQstatus(pg) != CONNECTION_OK) {
        printf("server: not reachable now, max_connections unknown\n");
        PQfinish(pg);
        return;
    }
    r = PQexec(pg, "SELECT current_setting('max_connections')::int, "
                   "current_setting('superuser_reserved_connections')::int");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        int max = atoi(PQgetvalue(r, 0, 0)), reserved = atoi(PQgetvalue(r, 0, 1));
        printf("server: max_connections %d - %d reserved = %d usable; budget %d %s\n", max,
               reserved, max - reserved, budget,
               budget <= max - reserved ? "fits" : "DOES NOT FIT (lower DB_CONNECTION_BUDGET)");
    }
    PQclear(r);
    PQfinish(pg);
}

static int budget_init(const char *routes_text, const char *workers_text)
{
    char err[256];
    long routes, workers, possible;

    if (config_parse_int(routes_text, 1, 1000, &routes) != 0 ||
        config_parse_int(workers_text, 1, 100000, &workers) != 0)
        return usage();
    if (budget_create(cfg.run_dir, cfg.db_connection_budget, err, sizeof err) != 0) {
        fprintf(stderr, "elogctl: %s\n", err);
        return 1;
    }
    possible = workers * cfg.pool_max;
    printf("budget: %ld routes, %ld workers in all x POOL_MAX %d = %ld possible connections; "
           "DB_CONNECTION_BUDGET %d caps them%s\n",
           routes, workers, cfg.pool_max, possible, cfg.db_connection_budget,
           possible > cfg.db_connection_budget ? " (workers wait for each other past it)" : "");
    print_server_fit(cfg.db_connection_budget);
    return 0;
}

static int budget_status(void)
{
    char err[256];
    const shared_segment_t *seg;

    if (budget_attach(cfg.run_dir, err, sizeof err) != 0) {
        fprintf(stderr, "elogctl: %s\n", err);
        return 1;
    }
    seg = budget_shared();
    printf("budget %d in_use %d waiting %d\n", budget_limit(), budget_in_use(), budget_waiters());
    for (int i = 0; i < SHARED_MAX_WORKERS; i++) {
        const worker_slot_t *s = &seg->slots[i];
        if (!budget_slot_alive(s))
            continue;
        printf("worker %s pid %d ready %d requests %llu open %d idle %d connects %llu reconnects %llu "
               "timeouts %llu waits %llu\n",
               s->route, s->pid, s->ready, (unsigned long long)s->requests, s->pool.open, s->pool.idle,
               (unsigned long long)s->pool.connects, (unsigned long long)s->pool.reconnects,
               (unsigned long long)s->pool.acquire_timeouts, (unsigned long long)s->pool.waits);
    }
    return 0;
}

/* Signs an access token with JWT_SECRET_KEY, for scripts and cron jobs that call the API. */
static int print_token(int argc, char **argv)
{
    const char *secret = getenv("JWT_SECRET_KEY");
    long id, ttl = JWT_ACCESS_TTL_S;
    cJSON *perms = cJSON_CreateArray(), *claims;
    char *list, *tok, *save = NULL, *token;

    if (secret == NULL || strlen(secret) < 32 || config_parse_int(argv[2], 1, 2147483647, &id) ||
        (argc == 7 && config_parse_int(argv[6], 1, 31536000, &ttl))) {
        cJSON_Delete(perms);
        fprintf(stderr, "elogctl token: needs JWT_SECRET_KEY (>= 32 bytes) and a numeric id\n");
        return 2;
    }
    list = strdup(argv[5]);
    for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(perms, cJSON_CreateString(tok));
    free(list);
    claims = jwt_claims_new(id, argv[3], argv[4], perms, JWT_TYPE_ACCESS, (long)time(NULL), ttl);
    token = claims != NULL ? jwt_sign(claims, (const unsigned char *)secret, strlen(secret)) : NULL;
    cJSON_Delete(claims);
    cJSON_Delete(perms);
    if (token == NULL)
        return 1;
    printf("%s\n", token);
    free(token);
    return 0;
}

int main(int argc, char **argv)
{
    char err[256], masked[1024];

    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "mask-dsn") == 0 && argc == 3) {
        config_mask_dsn(argv[2], masked, sizeof masked);
        printf("%s\n", masked);
        return 0;
    }
    if (strcmp(argv[1], "token") == 0 && (argc == 6 || argc == 7))
        return print_token(argc, argv);
    cfg.run_dir = getenv("ELOG_RUN_DIR");
    if (strcmp(argv[1], "check-config") == 0 || strcmp(argv[1], "budget-init") == 0) {
        if (config_load(err, sizeof err) != 0) {
            fprintf(stderr, "configuration error: %s\n", err);
            return 2;
        }
        if (strcmp(argv[1], "check-config") == 0)
            return 0;
    }
    if (cfg.run_dir == NULL) {
        fprintf(stderr, "elogctl: ELOG_RUN_DIR is not set\n");
        return 2;
    }
    if (strcmp(argv[1], "budget-init") == 0 && argc == 4)
        return budget_init(argv[2], argv[3]);
    if (strcmp(argv[1], "budget-remove") == 0) {
        if (budget_remove(cfg.run_dir, err, sizeof err) != 0)
            fprintf(stderr, "elogctl: %s\n", err);
        return 0;
    }
    if (strcmp(argv[1], "budget-status") == 0)
        return budget_status();
    return usage();
}
