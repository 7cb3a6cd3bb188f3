/* service_health.c -- GET /api/service_health: a tree of this deployment's components, each
 * measured now (the database by a live query, the pool and the routes from the shared
 * segment), for the dashboard's TreeMap.
 *
 * A node's responseTime is in ms: the live query's round trip (PostgreSQL, Database
 * Services), its server-side time (Query Processor), the mean wait per pool acquire
 * (Connection Pool), the mean request latency of live workers (API routes; Log Ingestion
 * shows the logs route's). Its uptime is in seconds since the component started: the
 * PostgreSQL server, this deployment (the pool's shared budget), a route's oldest live worker.
 * Either is null when not measured. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "db.h"
#include "fleet.h"
#include "timeutil.h"
#include "worker.h"

/* The live query: the last hour's logs (log_tally, exact) and the server's own figures.
 * execution_ms is the server-side time of this very statement up to its last column
 * (clock_timestamp() - statement_timestamp(), evaluated after the counts are done). */
static const char health_sql[] =
    "WITH h AS (SELECT coalesce(sum(c.n), 0) AS n,"
    "                  coalesce(sum(c.n) FILTER (WHERE c.level IN ('ERROR', 'FATAL')), 0) AS errors"
    "             FROM log_tally(now() - interval '1 hour', now()) c)"
    " SELECT json_build_object("
    "   'logs_last_hour', h.n, 'errors_last_hour', h.errors,"
    "   'server_version', current_setting('server_version'),"
    "   'uptime_s', floor(extract(epoch FROM now() - pg_postmaster_start_time())),"
    "   'server_side', (SELECT count(*) FROM pg_stat_activity"
    "                    WHERE application_name LIKE 'elog:%'"
    "                     AND backend_type = 'client backend'),"
    "   'max_connections', current_setting('max_connections')::int,"
    "   'execution_ms', round(extract(epoch FROM clock_timestamp() - statement_timestamp())"
    "                         * 1000, 3))"
    " FROM h";

/* Statuses from best to worst; a parent takes the worst of its own measurement and its
 * children, and overall_status is the worst top-level node. "unknown" (not measured) ranks
 * above healthy and below any measured problem. */
enum status { HEALTHY, UNKNOWN, WARNING, DEGRADED, CRITICAL };
static const char *const status_names[] = {"healthy", "unknown", "warning", "degraded",
                                           "critical"};

/* Thresholds, in one place (W warning, D degraded, C critical).
 *
 * | node               | figure                                         | W     | D     | C     |
 * |--------------------|------------------------------------------------|-------|-------|-------|
 * | PostgreSQL Primary | round trip of the live query, ms               | 500   | 2000  | fails |
 * | Query Processor    | server-side time of the live query, ms         | 500   | 2000  | 10000 |
 * | Connection Pool    | acquire timeouts / acquires of the live        | any   | 1 %   | -     |
 * |                    | workers (since they started)                   |       |       |       |
 * | Connection Pool    | workers waiting for the budget, or it is full  | yes   | -     | -     |
 * | API route          | 5xx share of its requests                      | 1 %   | 5 %   | 20 %  |
 * | API route          | mean latency, ms                               | 1000  | 5000  | -     |
 * | Log Ingestion      | ERROR+FATAL share of the last hour             | 5 %   | 20 %  | -     |
 * | Log Ingestion      | logs in the last hour                          | none  | -     | -     |
 *
 * A pool without the host budget (not attached) and anything the failed query could not
 * measure are "unknown". */
#define DB_WARNING_MS 500.0
#define DB_DEGRADED_MS 2000.0
#define QUERY_CRITICAL_MS 10000.0
#define POOL_TIMEOUT_DEGRADED_PCT 1.0
#define ROUTE_5XX_WARNING_PCT 1.0
#define ROUTE_5XX_DEGRADED_PCT 5.0
#define ROUTE_5XX_CRITICAL_PCT 20.0
#define ROUTE_WARNING_MS 1000.0
#define ROUTE_DEGRADED_MS 5000.0
#define INGEST_WARNING_PCT 5.0
#define INGEST_DEGRADED_PCT 20.0

/* TreeMap weights (presentation, as in the original dashboard). */
enum importance {
    IMPORTANCE_DATABASE = 100,
    IMPORTANCE_API = 95,
    IMPORTANCE_POSTGRES = 90,
    IMPORTANCE_POOL = 85,
    IMPORTANCE_QUERY = 80,
    IMPORTANCE_ROUTE = 80,
    IMPORTANCE_INGEST = 70,
};

static enum status worst(enum status a, enum status b)
{
    return a > b ? a : b;
}

static enum status grade(double value, double warning, double degraded, double critical)
{
    return value >= critical   ? CRITICAL
           : value >= degraded ? DEGRADED
           : value >= warning  ? WARNING
                               : HEALTHY;
}

/* One node; a negative responseTime or uptime (seconds) is null; children may be NULL. */
static cJSON *node(const char *name, enum status status, int importance, double response_ms,
                   double uptime_s, const char *description, cJSON *children)
{
    cJSON *n = cJSON_CreateObject();

    cJSON_AddStringToObject(n, "name", name);
    cJSON_AddStringToObject(n, "status", status_names[status]);
    cJSON_AddNumberToObject(n, "importance", importance);
    if (response_ms < 0)
        cJSON_AddNullToObject(n, "responseTime");
    else
        json_add_rounded(n, "responseTime", response_ms, 2);
    if (uptime_s < 0)
        cJSON_AddNullToObject(n, "uptime");
    else
        cJSON_AddNumberToObject(n, "uptime", uptime_s);
    cJSON_AddStringToObject(n, "description", description);
    if (children != NULL)
        cJSON_AddItemToObject(n, "children", children);
    return n;
}

static double number(const cJSON *data, const char *name)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data, name));
}

static double seconds_since(int64_t epoch_ms)
{
    return epoch_ms > 0 ? (double)((time_now_ms() - epoch_ms) / 1000) : -1;
}

/* The route's fleet entry, or NULL when it has no live worker (or the fleet is unknown). */
static const fleet_route_t *fleet_route(const fleet_t *fleet, const char *name)
{
    for (int i = 0; fleet != NULL && i < fleet->nroutes; i++) {
        if (strcmp(fleet->routes[i].name, name) == 0)
            return &fleet->routes[i];
    }
    return NULL;
}

static cJSON *pool_node(const fleet_t *fleet, enum status *status)
{
    const shared_segment_t *seg = budget_shared();
    const pool_figures_t *f;
    int limit = budget_limit(), in_use, waiting;
    double timeout_pct, wait_ms = -1;
    char text[320];

    budget_usage(&in_use, &waiting);
    if (seg == NULL || fleet == NULL || limit < 0 || in_use < 0 || waiting < 0) {
        *status = UNKNOWN;
        return node("Connection Pool", UNKNOWN, IMPORTANCE_POOL, -1, -1,
                    "Host-wide budget not attached: pool figures unavailable", NULL);
    }
    f = &fleet->total.pool;
    timeout_pct = f->acquires ? (double)f->acquire_timeouts * 100.0 / (double)f->acquires : 0;
    if (f->acquires > 0)
        wait_ms = (double)f->wait_us / 1000.0 / (double)f->acquires;
    *status = timeout_pct >= POOL_TIMEOUT_DEGRADED_PCT ? DEGRADED
              : f->acquire_timeouts > 0 || waiting > 0 || in_use >= limit ? WARNING
                                                                           : HEALTHY;
    snprintf(text, sizeof text,
             "%d of %d budgeted connections open host-wide, %d waiting; %llu acquires, "
             "%llu waited, %llu timed out",
             in_use, limit, waiting, (unsigned long long)f->acquires,
             (unsigned long long)f->waits, (unsigned long long)f->acquire_timeouts);
    return node("Connection Pool", *status, IMPORTANCE_POOL, wait_ms,
                seconds_since(seg->created_ms), text, NULL);
}

static cJSON *database_services(const cJSON *data, double round_trip_ms, const char *db_error,
                                const fleet_t *fleet, enum status *status)
{
    cJSON *children = cJSON_CreateArray(), *primary, *group = cJSON_CreateArray();
    enum status pool_status, query_status, own;
    double exec_ms, uptime_s = -1;
    char text[400];

    cJSON_AddItemToArray(children, pool_node(fleet, &pool_status));
    if (data == NULL) {
        query_status = UNKNOWN;
        snprintf(text, sizeof text, "Not measured: %s", db_error);
        cJSON_AddItemToArray(children, node("Query Processor", UNKNOWN, IMPORTANCE_QUERY, -1,
                                            -1, text, NULL));
        own = CRITICAL;
        snprintf(text, sizeof text, "Unreachable: %s", db_error);
        round_trip_ms = -1;
    } else {
        exec_ms = number(data, "execution_ms");
        uptime_s = number(data, "uptime_s");
        query_status = grade(exec_ms, DB_WARNING_MS, DB_DEGRADED_MS, QUERY_CRITICAL_MS);
        snprintf(text, sizeof text, "Counted the last hour's %.0f logs in %.3f ms on the server",
                 number(data, "logs_last_hour"), exec_ms);
        cJSON_AddItemToArray(children, node("Query Processor", query_status, IMPORTANCE_QUERY,
                                            exec_ms, uptime_s, text, NULL));
        own = grade(round_trip_ms, DB_WARNING_MS, DB_DEGRADED_MS, INFINITY);
        snprintf(text, sizeof text,
                 "PostgreSQL %s; %.0f of max_connections %.0f held by this application",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "server_version")),
                 number(data, "server_side"), number(data, "max_connections"));
    }
    *status = worst(own, worst(pool_status, query_status));
    primary = node("PostgreSQL Primary", *status, IMPORTANCE_POSTGRES, round_trip_ms, uptime_s,
                   text, children);
    cJSON_AddItemToArray(group, primary);
    return node("Database Services", *status, IMPORTANCE_DATABASE, round_trip_ms, uptime_s,
                "Core database infrastructure and data storage", group);
}

static enum status route_status(const fleet_route_t *r)
{
    double latency = fleet_mean_latency_ms(r);
    enum status s = grade(fleet_5xx_percent(r), ROUTE_5XX_WARNING_PCT, ROUTE_5XX_DEGRADED_PCT,
                          ROUTE_5XX_CRITICAL_PCT);
    if (latency >= 0)
        s = worst(s, grade(latency, ROUTE_WARNING_MS, ROUTE_DEGRADED_MS, INFINITY));
    return s;
}

static cJSON *api_services(const fleet_t *fleet, enum status *status)
{
    cJSON *children;
    char name[SHARED_ROUTE_LEN + 8], text[320];

    if (fleet == NULL) {
        *status = UNKNOWN;
        return node("API Services", UNKNOWN, IMPORTANCE_API, -1, -1,
                    "Worker figures unavailable: not attached to the host's shared segment",
                    NULL);
    }
    children = cJSON_CreateArray();
    *status = HEALTHY;
    for (int i = 0; i < fleet->nroutes; i++) {
        const fleet_route_t *r = &fleet->routes[i];
        enum status s = route_status(r);
        *status = worst(*status, s);
        snprintf(name, sizeof name, "/api/%s", r->name);
        snprintf(text, sizeof text,
                 "%d worker%s up; %llu requests, %llu answered 5xx (%.2f %%)", r->workers,
                 r->workers == 1 ? "" : "s", (unsigned long long)r->requests,
                 (unsigned long long)r->status_5xx, fleet_5xx_percent(r));
        cJSON_AddItemToArray(children, node(name, s, IMPORTANCE_ROUTE, fleet_mean_latency_ms(r),
                                            seconds_since(r->oldest_started_ms), text, NULL));
    }
    snprintf(text, sizeof text, "%d routes served by %d live workers", fleet->nroutes,
             fleet->total.workers);
    return node("API Services", *status, IMPORTANCE_API, fleet_mean_latency_ms(&fleet->total),
                seconds_since(fleet->total.oldest_started_ms), text, children);
}

/* Log Ingestion: what arrived in the last hour. Its responseTime and uptime are those of the
 * logs route (which ingests), when it has live workers. */
static cJSON *log_ingestion(const cJSON *data, const char *db_error, const fleet_t *fleet,
                            enum status *status)
{
    const fleet_route_t *logs = fleet_route(fleet, "logs");
    double n, errors, share;
    char text[400];

    if (data == NULL) {
        *status = UNKNOWN;
        snprintf(text, sizeof text, "Not measured: %s", db_error);
    } else {
        n = number(data, "logs_last_hour");
        errors = number(data, "errors_last_hour");
        share = n > 0 ? errors * 100.0 / n : 0;
        *status = n <= 0 ? WARNING
                         : grade(share, INGEST_WARNING_PCT, INGEST_DEGRADED_PCT, INFINITY);
        snprintf(text, sizeof text, "%.0f logs in the last hour, %.0f ERROR/FATAL (%.2f %%)", n,
                 errors, share);
    }
    return node("Log Ingestion", *status, IMPORTANCE_INGEST,
                logs != NULL ? fleet_mean_latency_ms(logs) : -1,
                logs != NULL ? seconds_since(logs->oldest_started_ms) : -1, text, NULL);
}

static int get_service_health(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {NULL};
    int64_t t0 = time_mono_us();
    cJSON *data, *body, *services;
    double round_trip_ms;
    char db_error[256] = "";
    enum status db, api, ingest, overall;
    fleet_t *fleet;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    data = db_query_json(req, res, health_sql, 0, NULL);
    round_trip_ms = (double)(time_mono_us() - t0) / 1000.0;
    if (data == NULL) {
        /* A database failure is what this route reports, not a failure of the route. */
        const char *msg =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res->body, "message"));
        snprintf(db_error, sizeof db_error, "%s", msg != NULL ? msg : "the query failed");
        res->headers_len = 0; /* no Retry-After on the 200 that reports it */
        res->headers[0] = '\0';
    }
    fleet = fleet_collect();
    body = http_ok(res);
    services = cJSON_AddArrayToObject(body, "services");
    cJSON_AddItemToArray(services, database_services(data, round_trip_ms, db_error, fleet, &db));
    cJSON_AddItemToArray(services, api_services(fleet, &api));
    cJSON_AddItemToArray(services, log_ingestion(data, db_error, fleet, &ingest));
    overall = worst(db, worst(api, ingest));
    cJSON_AddStringToObject(body, "overall_status", status_names[overall]);
    free(fleet);
    cJSON_Delete(data);
    return 0;
}

static const route_t route = {
    .name = "service_health",
    .get = get_service_health,
    .get_permission = "view_dashboard",
};

ROUTE_MAIN(route)
