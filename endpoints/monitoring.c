/* monitoring.c -- GET /api/monitoring: incidents, latency percentiles, database size and
 * throughput, ML alerts, and the connection figures an operator watches to see the pool keep
 * the database under its limit. */
#include <stdio.h>
#include <stdlib.h>

#include "budget.h"
#include "config.h"
#include "db.h"
#include "fleet.h"
#include "worker.h"

/* One statement for everything the database knows; the window is [now - 24 h, now).
 * - incidents: the latest 50 ERROR/FATAL logs of the window.
 * - percentiles: response_time_summary() (db/percentiles.sql) -- exact percentile_cont over
 *   the window's rows with a response time, found by counting in per-minute and per-hour
 *   histograms instead of sorting the window (2-3 ms at a million rows a day); min/max over
 *   the same rows; total_requests is their count; avg from the window's log_window() totals,
 *   which also give the level counts.
 * - resources.database: pg_database_size; max_size_mb from DB_MAX_SIZE_MB ($1);
 *   total_logs every stored log; logs_per_day the window's logs; growth_rate the change of
 *   the window's logs against the 24 h before it, in percent (null when that day is empty).
 * - throughput: the window's logs per day, and averaged per hour / minute / second.
 * - ml_predictions / ml_alerts: predictions made in the window; an alert is a high-severity
 *   anomaly (is_anomaly AND severity IN ('high', 'critical')), latest 25, with its log.
 * - connections: this application's sessions seen by the server (application_name
 *   'elog:...', client backends only: a parallel query's workers carry its application_name
 *   but hold no connection) and the server's max_connections. */
static const char monitoring_sql[] =
    "WITH w AS (SELECT now() - interval '24 hours' AS t0, now() AS t1),"
    " day AS MATERIALIZED (SELECT x.* FROM w, log_window(w.t0, w.t1) x),"
    " lvl AS (SELECT l.level, l.n FROM day, log_levels(day.n) l),"
    " lc AS (SELECT coalesce(sum(lvl.n), 0) AS n FROM lvl),"
    " prev AS (SELECT coalesce(sum(c.n), 0) AS n"
    "            FROM w, log_tally(w.t0 - interval '24 hours', w.t0) c),"
    " total AS (SELECT coalesce(sum(c.n), 0) AS n FROM log_tally('-infinity', 'infinity') c),"
    " pct AS (SELECT r.*, day.rt_sum / nullif(day.rt_n, 0) AS avg"
    "           FROM w, day, response_time_summary(w.t0, w.t1) r),"
    " inc AS (SELECT e.* FROM w, log_entries e"
    "          WHERE e.level IN ('ERROR', 'FATAL')"
    "            AND e.\"timestamp\" >= w.t0 AND e.\"timestamp\" < w.t1"
    "          ORDER BY e.\"timestamp\" DESC, e.id DESC LIMIT 50),"
    " ml AS (SELECT c.n FROM w, ml_counts(w.t0, w.t1) c),"
    " alerts AS (SELECT p.id, p.log_entry_id, p.severity, p.anomaly_score,"
    "                   p.anomaly_confidence, p.predicted_level, p.model_version,"
    "                   p.predicted_at, e.log_id, e.\"timestamp\", e.level, e.message,"
    "                   e.source_type, e.host, e.service"
    "              FROM w, ml_predictions p JOIN log_entries e ON e.id = p.log_entry_id"
    "             WHERE p.predicted_at >= w.t0 AND p.predicted_at < w.t1"
    "               AND p.is_anomaly AND p.severity IN ('high', 'critical')"
    "             ORDER BY p.predicted_at DESC, p.id DESC LIMIT 25),"
    " size AS (SELECT pg_database_size(current_database()) AS bytes,"
    "                 $1::bigint AS max_mb)"
    " SELECT json_build_object("
    "  'incidents', coalesce((SELECT json_agg(json_build_object("
    "      'log_id', inc.log_id, 'timestamp', utc_rfc3339(inc.\"timestamp\"),"
    "      'level', inc.level, 'message', inc.message, 'source_type', inc.source_type,"
    "      'host', inc.host, 'service', inc.service,"
    "      'response_time_ms', inc.response_time_ms, 'http_status', inc.http_status)"
    "      ORDER BY inc.\"timestamp\" DESC, inc.id DESC) FROM inc), '[]'::json),"
    "  'percentiles', (SELECT json_build_object("
    "      'p50', round(p50::numeric, 2), 'p95', round(p95::numeric, 2),"
    "      'p99', round(p99::numeric, 2), 'min', min, 'max', max, 'avg', round(avg, 2),"
    "      'total_requests', n) FROM pct),"
    "  'resources', json_build_object("
    "    'database', json_build_object("
    "      'size_mb', round(size.bytes / 1048576.0, 2),"
    "      'size_formatted', pg_size_pretty(size.bytes),"
    "      'max_size_mb', size.max_mb,"
    "      'max_size_formatted', pg_size_pretty(size.max_mb * 1048576),"
    "      'usage_percent', round(size.bytes * 100.0 / (size.max_mb * 1048576.0), 2),"
    "      'total_logs', total.n,"
    "      'growth_rate', round((lc.n - prev.n) * 100.0 / nullif(prev.n, 0), 2),"
    "      'logs_per_day', lc.n),"
    "    'throughput', json_build_object("
    "      'logs_per_day', lc.n, 'logs_per_hour', round(lc.n / 24.0, 2),"
    "      'logs_per_minute', round(lc.n / 1440.0, 2),"
    "      'logs_per_second', round(lc.n / 86400.0, 4)),"
    "    'level_distribution', (SELECT json_object_agg(level, n ORDER BY level) FROM lvl),"
    "    'ml_predictions', json_build_object("
    "      'count_24h', ml.n, 'status', CASE WHEN ml.n > 0 THEN 'active' ELSE 'inactive' END)),"
    "  'ml_alerts', coalesce((SELECT json_agg(json_build_object("
    "      'id', a.id, 'log_entry_id', a.log_entry_id, 'severity', a.severity,"
    "      'anomaly_score', a.anomaly_score, 'anomaly_confidence', a.anomaly_confidence,"
    "      'predicted_level', a.predicted_level, 'model_version', a.model_version,"
    "      'predicted_at', utc_rfc3339(a.predicted_at), 'log_id', a.log_id,"
    "      'timestamp', utc_rfc3339(a.\"timestamp\"), 'level', a.level, 'message', a.message,"
    "      'source_type', a.source_type, 'host', a.host, 'service', a.service)"
    "      ORDER BY a.predicted_at DESC, a.id DESC) FROM alerts a), '[]'::json),"
    "  'server_side', (SELECT count(*) FROM pg_stat_activity"
    "                   WHERE application_name LIKE 'elog:%'"
    "                     AND backend_type = 'client backend'),"
    "  'max_connections', current_setting('max_connections')::int,"
    "  'window', json_build_object('from', utc_rfc3339_us(w.t0), 'to', utc_rfc3339_us(w.t1)))"
    " FROM w, lc, prev, total, ml, size";

/* A host-wide figure, or null when this worker is not attached to the shared segment. */
static void add_figure(cJSON *obj, const char *name, int value)
{
    if (value < 0)
        cJSON_AddNullToObject(obj, name);
    else
        cJSON_AddNumberToObject(obj, name, value);
}

/* connections: the host budget (limit, in use, waiting), the server's view, and per route
 * the live workers with their summed pool figures (common/fleet). */
static cJSON *connections(cJSON *data)
{
    cJSON *c = cJSON_CreateObject(), *routes;
    fleet_t *fleet = fleet_collect();
    int in_use, waiting;

    budget_usage(&in_use, &waiting);
    add_figure(c, "budget", budget_limit());
    add_figure(c, "open_host_wide", in_use);
    add_figure(c, "waiting", waiting);
    cJSON_AddItemToObject(c, "server_side", cJSON_DetachItemFromObject(data, "server_side"));
    cJSON_AddItemToObject(c, "max_connections",
                          cJSON_DetachItemFromObject(data, "max_connections"));
    if (fleet == NULL) {
        cJSON_AddNullToObject(c, "workers");
        cJSON_AddNullToObject(c, "routes");
        return c;
    }
    cJSON_AddNumberToObject(c, "workers", fleet->total.workers);
    routes = cJSON_AddObjectToObject(c, "routes");
    for (int i = 0; i < fleet->nroutes; i++)
        fleet_route_json(cJSON_AddObjectToObject(routes, fleet->routes[i].name), &fleet->routes[i]);
    free(fleet);
    return c;
}

static int get_monitoring(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {NULL};
    char max_mb[24];
    const char *values[1] = {max_mb};
    cJSON *data, *body;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    snprintf(max_mb, sizeof max_mb, "%d", cfg.db_max_size_mb);
    data = db_query_json(req, res, monitoring_sql, 1, values);
    if (data == NULL)
        return -1;
    body = http_ok(res);
    cJSON_AddItemToObject(data, "connections", connections(data));
    cJSON_AddItemToObject(body, "data", data);
    cJSON_AddItemToObject(body, "window", cJSON_DetachItemFromObject(data, "window"));
    return 0;
}

static const route_t route = {
    .name = "monitoring",
    .get = get_monitoring,
    .get_permission = "view_dashboard",
    /* The plan does not depend on the one parameter (DB_MAX_SIZE_MB): planned once per
     * session, by the warm-up, instead of on each of a connection's first requests (1.7 ms). */
    .db_settings = "-c plan_cache_mode=force_generic_plan",
};

ROUTE_MAIN(route)
