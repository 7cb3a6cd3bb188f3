/* metrics.c -- GET /api/metrics: the last 24 h in a few figures and the system-health score. */
#include "db.h"
#include "worker.h"

/* One statement builds the whole body. The window is [now - 24 h, now) and is returned with
 * microseconds, so a client can repeat any count over exactly the same rows.
 * - Log counts and the average response time come from one log_window() (per-level sums by
 *   log_levels()), prediction counts from ml_counts() (all exact, tally-backed).
 * - A "high-severity anomaly" is an ml_predictions row with is_anomaly AND severity IN
 *   ('high', 'critical'), predicted within the window (ml_lightweight's high_severity_count
 *   uses the same definition); its rate is over all predictions of the window.
 * - Rates are percentages of the window's logs (of its predictions for anomalies), over at
 *   least 1 so that empty tables give 0; avg_response_time_ms is 0 without response times.
 * - system_health = clamp(99 - fatal_rate*3 - error_rate*0.5 - high_anomaly_rate*0.3, 85,
 *   99.9), from the unrounded rates, then rounded to 1 dp; the impacts to 2 dp. */
static const char metrics_sql[] =
    "WITH w AS (SELECT now() - interval '24 hours' AS t0, now() AS t1),"
    " x AS MATERIALIZED (SELECT x.* FROM w, log_window(w.t0, w.t1) x),"
    " lc AS (SELECT coalesce(sum(l.n), 0) AS total,"
    "               coalesce(sum(l.n) FILTER (WHERE l.level = 'FATAL'), 0) AS fatal,"
    "               coalesce(sum(l.n) FILTER (WHERE l.level = 'ERROR'), 0) AS error"
    "          FROM x, log_levels(x.n) l),"
    " rt AS (SELECT x.rt_n, x.rt_sum FROM x),"
    " ml AS (SELECT c.n AS predictions, c.high_anomalies AS high"
    "          FROM w, ml_counts(w.t0, w.t1) c),"
    " r AS (SELECT lc.*, rt.*, ml.*,"
    "              lc.fatal * 100.0 / greatest(lc.total, 1) AS fatal_rate,"
    "              lc.error * 100.0 / greatest(lc.total, 1) AS error_rate,"
    "              ml.high * 100.0 / greatest(ml.predictions, 1) AS high_rate"
    "         FROM lc, rt, ml)"
    " SELECT json_build_object("
    "   'success', true,"
    "   'metrics', json_build_object("
    "     'total_logs', r.total,"
    "     'avg_response_time_ms',"
    "       round(CASE WHEN r.rt_n > 0 THEN r.rt_sum / r.rt_n ELSE 0 END, 2),"
    "     'fatal_rate', round(r.fatal_rate, 2),"
    "     'error_rate', round(r.error_rate, 2),"
    "     'high_anomaly_rate', round(r.high_rate, 2),"
    "     'high_anomaly_count', r.high,"
    "     'system_health', round(least(greatest(99 - r.fatal_rate * 3 - r.error_rate * 0.5"
    "                                           - r.high_rate * 0.3, 85), 99.9), 1)),"
    "   'calculation', json_build_object("
    "     'base', 99.0,"
    "     'fatal_impact', round(r.fatal_rate * 3, 2),"
    "     'error_impact', round(r.error_rate * 0.5, 2),"
    "     'anomaly_impact', round(r.high_rate * 0.3, 2)),"
    "   'period', 'last_24_hours',"
    "   'window', json_build_object('from', utc_rfc3339_us(w.t0), 'to', utc_rfc3339_us(w.t1)))"
    " FROM r, w";

static int get_metrics(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {NULL};
    cJSON *body;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    body = db_query_json(req, res, metrics_sql, 0, NULL);
    if (body == NULL)
        return -1;
    /* The statement built the whole body, "success" included. */
    return http_respond(res, 200, body);
}

static const route_t route = {.name = "metrics", .get = get_metrics, .get_permission = "read_logs"};

ROUTE_MAIN(route)
