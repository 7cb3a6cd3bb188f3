/* dashboard_analytics.c -- GET /api/dashboard_analytics: the dashboard's charts (Chart.js
 * shapes) and status cards, from the database, the host and the shared segment. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "db.h"
#include "hostinfo.h"
#include "timeutil.h"
#include "worker.h"

/* The dashboard's day is six 4-hour buckets aligned to UTC (00:00, 04:00, ... 20:00): the
 * last one is the bucket now falls in, cut at now; the first starts 20 h before it. So the
 * charts cover the 20-24 h up to now, labels stay put between refreshes, and no future
 * timestamp is counted. logVolume, responseTime, logDistribution and errorTypes all cover
 * this one range, so the charts add up to each other. activeAlerts and responseTime of
 * systemMetrics cover [now - 1 h, now); logsProcessed is every stored log. All figures are
 * exact and tally-backed: the five whole buckets add up the hour tallies (log_hours(), one row
 * per hour), the current bucket and the last hour come from log_window(), levels from
 * log_levels(), logsProcessed from log_tally(), and the ERROR/FATAL counts per message from
 * error_message_counts(), so each distinct message is classified once. */
static const char dashboard_sql[] =
    "WITH w AS (SELECT now() AS t1,"
    "                  date_bin('4 hours', now(), timestamptz '2000-01-01 00:00:00+00')"
    "                    - interval '20 hours' AS t0),"
    " b AS (SELECT k, w.t0 + k * interval '4 hours' AS s,"
    "              least(w.t0 + (k + 1) * interval '4 hours', w.t1) AS e"
    "         FROM w, generate_series(0, 5) k),"
    " part AS MATERIALIZED (SELECT b.k, h.n, h.rt_n, h.rt_sum"
    "                         FROM w, log_hours(w.t0, w.t0 + interval '20 hours') h"
    "                         JOIN b ON h.bucket >= b.s AND h.bucket < b.e"
    "                       UNION ALL"
    "                       SELECT b.k, x.n, x.rt_n, x.rt_sum"
    "                         FROM b, log_window(b.s, b.e) x WHERE b.k = 5),"
    " bucket AS (SELECT b.k, b.s, coalesce(sum((SELECT sum(c) FROM unnest(p.n) c)), 0) AS n,"
    "                   round(sum(p.rt_sum) / nullif(sum(p.rt_n), 0), 2) AS avg_rt"
    "              FROM b LEFT JOIN part p ON p.k = b.k GROUP BY b.k, b.s),"
    " lvl AS (SELECT l.level, sum(l.n) AS n FROM part, log_levels(part.n) l GROUP BY l.level),"
    " msg AS (SELECT m.message, m.n FROM w, error_message_counts(w.t0, w.t1) m),"
    " typed AS (SELECT coalesce((SELECT r.category"
    "                              FROM unnest($1::text[], $2::text[]) WITH ORDINALITY"
    "                                   AS r(keyword, category, ord)"
    "                             WHERE strpos(lower(msg.message), r.keyword) > 0"
    "                             ORDER BY r.ord LIMIT 1), $3) AS category, msg.n"
    "             FROM msg),"
    " cat AS (SELECT c.category, c.ord, coalesce(sum(typed.n), 0) AS n"
    "           FROM unnest($4::text[]) WITH ORDINALITY c(category, ord)"
    "           LEFT JOIN typed ON typed.category = c.category GROUP BY c.category, c.ord),"
    " hx AS (SELECT x.* FROM w, log_window(w.t1 - interval '1 hour', w.t1) x),"
    " hr AS (SELECT (SELECT sum(l.n) FROM log_levels(hx.n) l) AS n,"
    "               (SELECT sum(l.n) FROM log_levels(hx.n) l"
    "                 WHERE l.level IN ('ERROR', 'FATAL')) AS alerts,"
    "               round(hx.rt_sum / nullif(hx.rt_n, 0), 2) AS avg_rt FROM hx),"
    " total AS (SELECT coalesce(sum(c.n), 0) AS n FROM log_tally('-infinity', 'infinity') c)"
    " SELECT json_build_object("
    "   'buckets', (SELECT json_build_object("
    "       'labels', json_agg(to_char(s AT TIME ZONE 'UTC', 'HH24:MI') ORDER BY k),"
    "       'counts', json_agg(n ORDER BY k), 'avg_rt', json_agg(avg_rt ORDER BY k)) FROM bucket),"
    "   'levels', (SELECT json_object_agg(level, n) FROM lvl),"
    "   'error_types', (SELECT json_build_object("
    "       'labels', json_agg(category ORDER BY n DESC, ord),"
    "       'counts', json_agg(n ORDER BY n DESC, ord)) FROM cat),"
    "   'logs_processed', total.n, 'logs_last_hour', hr.n, 'alerts_last_hour', hr.alerts,"
    "   'avg_rt_last_hour', hr.avg_rt,"
    "   'window', json_build_object('from', utc_rfc3339_us(w.t0), 'to', utc_rfc3339_us(w.t1)))"
    " FROM w, hr, total";

/* errorTypes: an ERROR/FATAL message, lower-cased, takes the first category (in this order)
 * one of whose keywords it contains; a message that matches none is "System" (out of memory,
 * disk full, crashes, queue failures...). The statement gets the rules as arrays ($1-$4). */
#define MAX_KEYWORDS 10
static const struct error_rule {
    const char *category;
    const char *keywords[MAX_KEYWORDS + 1];
} error_rules[] = {
    {"Database", {"database", "sql", "query", "deadlock", "postgres", NULL}},
    {"Network",
     {"timeout", "timed out", "connection refused", "connection lost", "connection reset",
      "unreachable", "network", "gateway", "socket", "dns", NULL}},
    {"Authentication",
     {"unauthorized", "unauthenticated", "authentication", "login", "token", "permission",
      "forbidden", "credential", "breach", NULL}},
    {"Validation",
     {"validation", "invalid", "malformed", "bad request", "missing required", "constraint",
      NULL}},
    {"System", {NULL}},
};
#define RULES (sizeof error_rules / sizeof error_rules[0])
static const char *const fallback_category = "System";

/* Colours of the original dashboard (presentation only). */
static const char *const level_labels[] = {"INFO", "WARN", "ERROR", "DEBUG", "FATAL"};
static const char *const level_colours[] = {"rgb(34, 197, 94)", "rgb(245, 158, 11)",
                                            "rgb(239, 68, 68)", "rgb(107, 114, 128)",
                                            "rgb(147, 51, 234)"};
static const char *const type_fills[] = {"rgba(239, 68, 68, 0.8)", "rgba(245, 158, 11, 0.8)",
                                         "rgba(147, 51, 234, 0.8)", "rgba(59, 130, 246, 0.8)",
                                         "rgba(16, 185, 129, 0.8)"};
static const char *const type_borders[] = {"rgb(239, 68, 68)", "rgb(245, 158, 11)",
                                           "rgb(147, 51, 234)", "rgb(59, 130, 246)",
                                           "rgb(16, 185, 129)"};

/* systemHealth: the worst status any row gives (a missing host figure gives none).
 *
 * | figure                                      | Warning at | Critical at |
 * |---------------------------------------------|------------|-------------|
 * | ERROR+FATAL share of the last hour's logs   | 5 %        | 15 %        |
 * | disk used (filesystem of the run folder)    | 85 %       | 95 %        |
 * | memory used                                 | 90 %       | 95 %        |
 *
 * CPU is left out: one short sample says little about sustained load. */
#define ALERT_SHARE_WARNING 5.0
#define ALERT_SHARE_CRITICAL 15.0
#define DISK_WARNING 85.0
#define DISK_CRITICAL 95.0
#define MEMORY_WARNING 90.0
#define MEMORY_CRITICAL 95.0
enum health { HEALTHY, WARNING, CRITICAL };
static const char *const health_names[] = {"Healthy", "Warning", "Critical"};

static enum health grade(double value, double warning, double critical)
{
    return value >= critical ? CRITICAL : value >= warning ? WARNING : HEALTHY;
}

/* Appends a quoted item to the Postgres array literal in buf ("{" to start); false when full. */
static bool append_item(char *buf, size_t len, const char *item)
{
    size_t used = strlen(buf);
    int n = snprintf(buf + used, len - used, "%s\"%s\"", used > 1 ? "," : "", item);
    return n >= 0 && (size_t)n < len - used;
}

/* The rules as three array literals: every keyword, its category, and the category order. */
static int rule_arrays(char *keywords, char *categories, char *order, size_t len)
{
    bool fits = true;

    strcpy(keywords, "{");
    strcpy(categories, "{");
    strcpy(order, "{");
    for (size_t r = 0; r < RULES; r++) {
        for (const char *const *kw = error_rules[r].keywords; *kw != NULL; kw++)
            fits = fits && append_item(keywords, len, *kw) &&
                   append_item(categories, len, error_rules[r].category);
        fits = fits && append_item(order, len, error_rules[r].category);
    }
    fits = fits && strlen(keywords) + 2 <= len && strlen(categories) + 2 <= len &&
           strlen(order) + 2 <= len;
    if (!fits)
        return -1;
    strcat(keywords, "}");
    strcat(categories, "}");
    strcat(order, "}");
    return 0;
}

static cJSON *string_array(const char *const *items, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

/* A line chart of the buckets: {labels, datasets: [{label, data, colours...}]}. */
static cJSON *line_chart(cJSON *labels, cJSON *data, const char *label, const char *rgb)
{
    char colour[40], fill[48];
    cJSON *chart = cJSON_CreateObject(), *set = cJSON_CreateObject();

    snprintf(colour, sizeof colour, "rgb(%s)", rgb);
    snprintf(fill, sizeof fill, "rgba(%s, 0.1)", rgb);
    cJSON_AddItemToObject(chart, "labels", labels);
    cJSON_AddStringToObject(set, "label", label);
    cJSON_AddItemToObject(set, "data", data);
    cJSON_AddStringToObject(set, "borderColor", colour);
    cJSON_AddStringToObject(set, "backgroundColor", fill);
    cJSON_AddNumberToObject(set, "tension", 0.4);
    cJSON_AddBoolToObject(set, "fill", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(chart, "datasets"), set);
    return chart;
}

static cJSON *distribution_chart(const cJSON *levels)
{
    cJSON *chart = cJSON_CreateObject(), *set = cJSON_CreateObject();
    cJSON *data = cJSON_AddArrayToObject(set, "data");

    cJSON_AddItemToObject(chart, "labels", string_array(level_labels, 5));
    for (int i = 0; i < 5; i++) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(levels, level_labels[i]);
        cJSON_AddItemToArray(data, n != NULL ? cJSON_Duplicate(n, 0) : cJSON_CreateNull());
    }
    cJSON_AddItemToObject(set, "backgroundColor", string_array(level_colours, 5));
    cJSON_AddNumberToObject(set, "borderWidth", 2);
    cJSON_AddStringToObject(set, "borderColor", "#ffffff");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(chart, "datasets"), set);
    return chart;
}

static cJSON *error_types_chart(cJSON *types)
{
    cJSON *chart = cJSON_CreateObject(), *set = cJSON_CreateObject();

    cJSON_AddItemToObject(chart, "labels", cJSON_DetachItemFromObject(types, "labels"));
    cJSON_AddStringToObject(set, "label", "Error Count");
    cJSON_AddItemToObject(set, "data", cJSON_DetachItemFromObject(types, "counts"));
    cJSON_AddItemToObject(set, "backgroundColor", string_array(type_fills, 5));
    cJSON_AddItemToObject(set, "borderColor", string_array(type_borders, 5));
    cJSON_AddNumberToObject(set, "borderWidth", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(chart, "datasets"), set);
    return chart;
}

/* Adds a host percentage (1 dp), or null when it could not be read. */
static void add_percent(cJSON *obj, const char *name, double value)
{
    if (value < 0)
        cJSON_AddNullToObject(obj, name);
    else
        json_add_rounded(obj, name, value, 1);
}

static cJSON *system_metrics(cJSON *data)
{
    cJSON *m = cJSON_CreateObject();
    const shared_segment_t *seg = budget_shared();
    double logs_hour = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data,
                                                                              "logs_last_hour"));
    double alerts = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data,
                                                                           "alerts_last_hour"));
    double cpu = hostinfo_cpu_percent(), memory = hostinfo_memory_percent();
    /* The run folder's filesystem holds the embedded database in the default layout. */
    double disk = hostinfo_disk_percent(cfg.run_dir != NULL ? cfg.run_dir : "/");
    enum health health, h;

    health = grade(logs_hour > 0 ? alerts * 100.0 / logs_hour : 0, ALERT_SHARE_WARNING,
                   ALERT_SHARE_CRITICAL);
    if (disk >= 0 && (h = grade(disk, DISK_WARNING, DISK_CRITICAL)) > health)
        health = h;
    if (memory >= 0 && (h = grade(memory, MEMORY_WARNING, MEMORY_CRITICAL)) > health)
        health = h;
    cJSON_AddItemToObject(m, "logsProcessed",
                          cJSON_DetachItemFromObject(data, "logs_processed"));
    cJSON_AddNumberToObject(m, "activeAlerts", alerts);
    cJSON_AddItemToObject(m, "responseTime",
                          cJSON_DetachItemFromObject(data, "avg_rt_last_hour"));
    cJSON_AddStringToObject(m, "systemHealth", health_names[health]);
    /* Seconds since this deployment (its shared segment) was created; null when detached. */
    if (seg != NULL) {
        cJSON_AddNumberToObject(m, "uptime", (double)((time_now_ms() - seg->created_ms) / 1000));
        json_add_time(m, "uptimeSince", seg->created_ms);
    } else {
        cJSON_AddNullToObject(m, "uptime");
        cJSON_AddNullToObject(m, "uptimeSince");
    }
    add_percent(m, "cpuUsage", cpu);
    add_percent(m, "memoryUsage", memory);
    add_percent(m, "diskUsage", disk);
    return m;
}

static int get_dashboard(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {NULL};
    static char keywords[1024], categories[1024], order[1024];
    static bool rules_ready;
    const char *values[4] = {keywords, categories, fallback_category, order};
    cJSON *data, *body, *buckets;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    if (!rules_ready) {
        if (rule_arrays(keywords, categories, order, sizeof keywords) != 0)
            return http_error(res, 500, "INTERNAL_ERROR", "The error-type rules do not fit.",
                              NULL);
        rules_ready = true;
    }
    data = db_query_json(req, res, dashboard_sql, 4, values);
    if (data == NULL)
        return -1;
    buckets = cJSON_GetObjectItemCaseSensitive(data, "buckets");
    body = http_ok(res);
    cJSON_AddItemToObject(body, "logVolume",
                          line_chart(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(buckets,
                                                                                      "labels"),
                                                     1),
                                     cJSON_DetachItemFromObject(buckets, "counts"),
                                     "Logs per 4 hours", "59, 130, 246"));
    cJSON_AddItemToObject(body, "logDistribution",
                          distribution_chart(cJSON_GetObjectItemCaseSensitive(data, "levels")));
    cJSON_AddItemToObject(body, "responseTime",
                          line_chart(cJSON_DetachItemFromObject(buckets, "labels"),
                                     cJSON_DetachItemFromObject(buckets, "avg_rt"),
                                     "Average Response Time (ms)", "16, 185, 129"));
    cJSON_AddItemToObject(
        body, "errorTypes",
        error_types_chart(cJSON_GetObjectItemCaseSensitive(data, "error_types")));
    cJSON_AddItemToObject(body, "systemMetrics", system_metrics(data));
    cJSON_AddStringToObject(body, "dataSource", "database");
    cJSON_AddItemToObject(body, "window", cJSON_DetachItemFromObject(data, "window"));
    cJSON_Delete(data);
    return 0;
}

static const route_t route = {
    .name = "dashboard_analytics",
    .get = get_dashboard,
    .get_permission = "view_dashboard",
    /* The statement's plan does not depend on its parameters (the keyword rules): planned
     * once per session instead of on every call (1 ms of a 5 ms request). */
    .db_settings = "-c plan_cache_mode=force_generic_plan",
};

ROUTE_MAIN(route)
