/* scoring.c -- the deterministic ML models: severity rules-v1 and anomaly stats-v1 */
#include "scoring.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>


/* ---- rules-v1 tables, transcribed from API.md ----------------------------------------------
 * Every string factor is a list of groups checked in table order; the first group with a
 * needle contained in the value (ASCII case-insensitive substring) gives the points. So
 * "payment-test" scores 40 (payment group first, before the test group) and is then halved,
 * and a message "connection timeout" scores 15, not the 10 of "timeout". Substrings match
 * inside words too: service "devices" contains "dev", message "latest" contains "test". */

typedef struct rule_group {
    int points;
    const char *const *needles; /* NULL-terminated */
} rule_group_t;

/* Service, or source_type when the service is none. No match: 25. */
static const rule_group_t service_groups[] = {
    {40, (const char *const[]){"payment", "checkout", "auth", "billing", "transaction", NULL}},
    {30, (const char *const[]){"user", "order", "inventory", "cart", "product", NULL}},
    {20,
     (const char *const[]){"notification", "email", "analytics", "search", "recommendation", NULL}},
    {5, (const char *const[]){"test", "dev", "debug", "health", "metrics", "monitoring", NULL}},
};
#define SERVICE_OTHER_POINTS 25

/* The whole sum is halved (truncated) when the service contains one of these. */
static const char *const halving_needles[] = {"test", "dev", "debug", "staging", NULL};

/* Level, compared whole and case-insensitively; WARNING is the API's alias of WARN. Other: 4. */
static const struct {
    const char *level;
    int points;
} level_points[] = {
    {"FATAL", 25}, {"ERROR", 20}, {"WARN", 12}, {"WARNING", 12}, {"DEBUG", 2},
};
#define LEVEL_OTHER_POINTS 4

/* Message, first group that matches. No match: 8. */
static const rule_group_t message_groups[] = {
    {20,
     (const char *const[]){"payment failed", "payment error", "transaction failed",
                           "unauthorized access", "security breach", "data breach", "sql injection",
                           "authentication bypass", "authorization failed", NULL}},
    {15, (const char *const[]){"database connection failed", "connection timeout",
                               "connection refused", "service unavailable", "out of memory",
                               "disk full", "deadlock", "database error", "cannot connect", NULL}},
    {10, (const char *const[]){"slow response", "timeout", "degraded", "retry", "rate limit",
                               "throttle", "queue full", "cache miss", "high latency", NULL}},
    {3, (const char *const[]){"started successfully", "completed", "health check", "test", "debug",
                              "trace", "warming up", NULL}},
};
#define MESSAGE_OTHER_POINTS 8

/* Endpoint, first group that matches. None or no match: 5. */
static const rule_group_t endpoint_groups[] = {
    {10, (const char *const[]){"/checkout", "/payment", "/purchase", "/transaction", "/login",
                               "/authenticate", "/authorize", "/register", NULL}},
    {7, (const char *const[]){"/order", "/cart", "/user", "/account", "/inventory", "/product",
                              "/api/v1", NULL}},
    {5, (const char *const[]){"/search", "/recommend", "/analytics", "/notification", NULL}},
    {1, (const char *const[]){"/health", "/ping", "/status", "/metrics", "/actuator", "/debug",
                              "/test", NULL}},
};
#define ENDPOINT_OTHER_POINTS 5

/* HTTP status, first range that contains it. Other (and 0 = none): 0. */
static const struct {
    int min;
    int max;
    int points;
} status_points[] = {
    {500, INT_MAX, 5},
    {401, 401, 3},
    {403, 403, 3},
    {400, INT_MAX, 2},
};

/* Response time, first threshold strictly exceeded. Other (and negative = none): 0. */
static const struct {
    double above_ms;
    int points;
} response_time_points[] = {
    {5000, 5},
    {3000, 3},
    {1000, 1},
};

#define ANOMALY_FLAG_POINTS 10

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))


/* ASCII lower case, independent of the process locale so scores never depend on it. */
static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}


/* True when needle (lower case) occurs in haystack, ignoring ASCII case. */
static bool contains_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h != '\0'; h++) {
        size_t i = 0;
        while (i < n && lower(h[i]) == needle[i]) {
            i++;
        }
        if (i == n) {
            return true;
        }
    }
    return false;
}


static bool contains_any(const char *haystack, const char *const *needles)
{
    for (; *needles != NULL; needles++) {
        if (contains_ci(haystack, *needles)) {
            return true;
        }
    }
    return false;
}


static bool equals_ci(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        if (lower(*a) != lower(*b)) {
            return false;
        }
    }
    return *a == *b;
}


static bool is_none(const char *s)
{
    return s == NULL || *s == '\0';
}


/* Points of the first group matching value, or other_points. */
static int group_points(const char *value, const rule_group_t *groups, size_t n_groups,
                        int other_points)
{
    if (is_none(value)) {
        return other_points;
    }
    for (size_t i = 0; i < n_groups; i++) {
        if (contains_any(value, groups[i].needles)) {
            return groups[i].points;
        }
    }
    return other_points;
}


int severity_points(const scoring_input_t *in)
{
    const char *subject = is_none(in->service) ? in->source_type : in->service;
    int points =
        group_points(subject, service_groups, ARRAY_LEN(service_groups), SERVICE_OTHER_POINTS);

    int level = LEVEL_OTHER_POINTS;
    for (size_t i = 0; !is_none(in->level) && i < ARRAY_LEN(level_points); i++) {
        if (equals_ci(in->level, level_points[i].level)) {
            level = level_points[i].points;
            break;
        }
    }
    points += level;

    points +=
        group_points(in->message, message_groups, ARRAY_LEN(message_groups), MESSAGE_OTHER_POINTS);
    points += group_points(in->endpoint, endpoint_groups, ARRAY_LEN(endpoint_groups),
                           ENDPOINT_OTHER_POINTS);

    for (size_t i = 0; i < ARRAY_LEN(status_points); i++) {
        if (in->http_status >= status_points[i].min && in->http_status <= status_points[i].max) {
            points += status_points[i].points;
            break;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(response_time_points); i++) {
        if (in->response_time_ms > response_time_points[i].above_ms) {
            points += response_time_points[i].points;
            break;
        }
    }
    if (in->is_anomaly) {
        points += ANOMALY_FLAG_POINTS;
    }

    /* Only the service itself is checked (source_type values never contain these words). */
    if (!is_none(in->service) && contains_any(in->service, halving_needles)) {
        points /= 2;
    }
    return points;
}


const char *severity_label(int points)
{
    if (points >= SEVERITY_CRITICAL_MIN) {
        return "critical";
    }
    if (points >= SEVERITY_HIGH_MIN) {
        return "high";
    }
    if (points >= SEVERITY_MEDIUM_MIN) {
        return "medium";
    }
    return "low";
}


double severity_confidence(int points)
{
    /* Points to move down (to fall below the label's own threshold) and up (to reach the
     * next one); the lowest label cannot move down and the highest cannot move up. */
    int down = INT_MAX;
    int up = INT_MAX;
    if (points >= SEVERITY_CRITICAL_MIN) {
        down = points - SEVERITY_CRITICAL_MIN + 1;
    } else if (points >= SEVERITY_HIGH_MIN) {
        down = points - SEVERITY_HIGH_MIN + 1;
        up = SEVERITY_CRITICAL_MIN - points;
    } else if (points >= SEVERITY_MEDIUM_MIN) {
        down = points - SEVERITY_MEDIUM_MIN + 1;
        up = SEVERITY_HIGH_MIN - points;
    } else {
        up = SEVERITY_MEDIUM_MIN - points;
    }
    int margin = down < up ? down : up;
    if (margin > 10) {
        margin = 10;
    }
    return 0.5 + 0.05 * margin;
}


/* ---- stats-v1 ----------------------------------------------------------------------------
 * Aspects, each in [0, 1], in this order; the score is the largest and a later aspect wins
 * only when strictly larger, so ties go to the earlier name:
 *   timing       1 - r, r = (hour_count/total) / (1/24), when r < 0.10: the hour's share
 *                measured against an even spread. API.md says "1 - share of the entry's
 *                hour, when that share < 0.1"; read literally, every hour of a 24-hour
 *                window holds about 1/24 < 0.1 and every entry would be an anomaly.
 *   source       1 - source_count/total      when that share < 0.05, and 0.8 when the entry
 *                                            has an IP never seen in the window (the larger)
 *   content      1 - message_count/total     when that share < 0.01
 *   performance  min(|z| / 3, 1), z = (response_time_ms - rt_mean) / rt_stddev
 *   security     words present / 6, over the six security_words, each counted once however
 *                often it occurs (so the aspect is at most 6/6 = 1 by construction)
 * With total = 0 (empty window) there is nothing to compare with: timing, source (both rules)
 * and content are skipped rather than dividing by zero or calling every IP new. Performance
 * is skipped without a response time or without a positive, finite stddev. */

#define TIMING_SHARE_BELOW 0.10 /* of an even hour's share */
#define HOURS_PER_DAY 24.0
#define SOURCE_SHARE_BELOW 0.05
#define CONTENT_SHARE_BELOW 0.01
#define NEW_IP_SCORE 0.8
#define PERFORMANCE_Z_FULL 3.0

static const char *const security_words[] = {"breach", "attack", "unauthorized", "hack", "malware",
                                             "virus",  NULL};


/* count/total clamped to [0, 1]; total must be positive. */
static double share(long count, long total)
{
    if (count <= 0) {
        return 0.0;
    }
    if (count >= total) {
        return 1.0;
    }
    return (double)count / (double)total;
}


/* 1 - share when share is below limit, else 0. */
static double rarity(long count, long total, double limit)
{
    double s = share(count, total);
    return s < limit ? 1.0 - s : 0.0;
}


static void consider(anomaly_result_t *r, const char *type, double value)
{
    if (value > r->score) {
        r->score = value;
        r->type = type;
    }
}


anomaly_result_t anomaly_score(const anomaly_entry_t *entry, const anomaly_context_t *ctx)
{
    anomaly_result_t r = {.score = 0.0, .is_anomaly = false, .type = "none"};

    if (ctx->total > 0) {
        double hour_ratio = share(ctx->hour_count, ctx->total) * HOURS_PER_DAY;
        consider(&r, "timing", hour_ratio < TIMING_SHARE_BELOW ? 1.0 - hour_ratio : 0.0);
        double source = rarity(ctx->source_count, ctx->total, SOURCE_SHARE_BELOW);
        if (!is_none(entry->ip) && !ctx->ip_seen && NEW_IP_SCORE > source) {
            source = NEW_IP_SCORE;
        }
        consider(&r, "source", source);
        consider(&r, "content", rarity(ctx->message_count, ctx->total, CONTENT_SHARE_BELOW));
    }

    if (entry->response_time_ms >= 0 && isfinite(entry->response_time_ms) && isfinite(ctx->rt_mean)
        && isfinite(ctx->rt_stddev) && ctx->rt_stddev > 0) {
        double z = (entry->response_time_ms - ctx->rt_mean) / ctx->rt_stddev;
        double performance = fabs(z) / PERFORMANCE_Z_FULL;
        consider(&r, "performance", performance < 1.0 ? performance : 1.0);
    }

    int words = 0;
    for (size_t i = 0; !is_none(entry->message) && security_words[i] != NULL; i++) {
        if (contains_ci(entry->message, security_words[i])) {
            words++;
        }
    }
    consider(&r, "security", words / (double)(ARRAY_LEN(security_words) - 1));

    r.is_anomaly = r.score >= ANOMALY_THRESHOLD;
    return r;
}


double anomaly_confidence(double score)
{
    if (!(score >= 0.0)) {
        score = 0.0;
    } else if (score > 1.0) {
        score = 1.0;
    }
    if (score >= ANOMALY_THRESHOLD) {
        return 0.5 + 0.5 * (score - ANOMALY_THRESHOLD) / (1.0 - ANOMALY_THRESHOLD);
    }
    return 0.5 + 0.5 * (ANOMALY_THRESHOLD - score) / ANOMALY_THRESHOLD;
}
