/* health.c -- GET /api/health: liveness and readiness, through the pool. No auth.
 *
 * Health checks that arrive together share one database round trip: the worker accepts every
 * waiting request (up to 16) before it answers the first, and the SELECT 1 sent for the first,
 * after all of them had arrived, answers for each. Those answers carry the same latency_ms and
 * "shared": true. A check that arrives later gets a round trip of its own, and a failed round
 * trip is never shared. */
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "pool.h"
#include "worker.h"

/* Settings a production deployment is expected to set explicitly. */
static const char *const expected_variables[] = {"DATABASE_URL", "JWT_SECRET_KEY", NULL};

static cJSON *configuration_check(int *missing_count)
{
    cJSON *conf = cJSON_CreateObject(), *missing = cJSON_AddArrayToObject(conf, "missing_variables");

    *missing_count = 0;
    for (int i = 0; expected_variables[i] != NULL; i++) {
        const char *v = getenv(expected_variables[i]);
        if (v == NULL || *v == '\0') {
            cJSON_AddItemToArray(missing, cJSON_CreateString(expected_variables[i]));
            (*missing_count)++;
        }
    }
    cJSON_AddStringToObject(conf, "status", *missing_count ? "incomplete" : "ok");
    return conf;
}

static int get_health(http_request_t *req, http_response_t *res)
{
    bool shared;
    double latency_ms = db_ping(req, res, &shared);
    cJSON *body = cJSON_CreateObject(), *checks, *database, *pool, *worker;
    int missing;

    checks = cJSON_CreateObject();
    database = cJSON_AddObjectToObject(checks, "database");
    if (latency_ms >= 0) {
        cJSON_AddStringToObject(database, "status", "ok");
        cJSON_AddNumberToObject(database, "latency_ms", latency_ms);
        cJSON_AddStringToObject(database, "message", "SELECT 1 through the pool succeeded");
        cJSON_AddBoolToObject(database, "shared", shared);
    } else {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(res->body, "message");
        cJSON_AddStringToObject(database, "status", "error");
        cJSON_AddNullToObject(database, "latency_ms");
        cJSON_AddStringToObject(database, "message",
                                cJSON_IsString(msg) ? msg->valuestring : "unavailable");
    }
    pool = cJSON_AddObjectToObject(checks, "pool");
    pool_status_json(pool);
    cJSON_AddItemToObject(checks, "configuration", configuration_check(&missing));

    cJSON_AddStringToObject(body, "status", latency_ms < 0 ? "unhealthy"
                                            : missing > 0  ? "degraded"
                                                           : "healthy");
    cJSON_AddStringToObject(body, "service", "Engineering Log Intelligence System");
    cJSON_AddStringToObject(body, "version", APP_VERSION);
    cJSON_AddStringToObject(body, "environment", cfg.environment);
    cJSON_AddItemToObject(body, "checks", checks);
    worker = cJSON_AddObjectToObject(body, "worker");
    cJSON_AddNumberToObject(worker, "pid", worker_pid());
    cJSON_AddNumberToObject(worker, "uptime_ms", (double)worker_uptime_ms());

    return http_respond(res, latency_ms < 0 ? 503 : 200, body);
}

static const route_t route = {
    .name = "health",
    .get = get_health,
    .accept_batch = WORKER_ACCEPT_BATCH_MAX,
};

ROUTE_MAIN(route)
