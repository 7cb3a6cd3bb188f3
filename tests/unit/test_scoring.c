/* test_scoring.c -- hand-computed cases for severity rules-v1 and anomaly stats-v1 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "scoring.h"

#define EPS 1e-9

/* Builds an input; NULL strings are "none". */
static scoring_input_t input(const char *service, const char *source_type, const char *level,
                             const char *message, const char *endpoint, int http_status,
                             double response_time_ms, bool is_anomaly)
{
    scoring_input_t in = {
        .service = service,
        .source_type = source_type,
        .level = level,
        .message = message,
        .endpoint = endpoint,
        .http_status = http_status,
        .response_time_ms = response_time_ms,
        .is_anomaly = is_anomaly,
    };
    return in;
}

static void expect_severity(scoring_input_t in, int points, const char *label)
{
    int got = severity_points(&in);
    if (got != points) {
        fail_msg("service=%s level=%s message=%s endpoint=%s: %d points, want %d",
                 in.service ? in.service : "(null)", in.level ? in.level : "(null)",
                 in.message ? in.message : "(null)", in.endpoint ? in.endpoint : "(null)", got,
                 points);
    }
    assert_string_equal(severity_label(got), label);
}


/* ---- severity rules-v1 ------------------------------------------------------------------ */

static void test_severity_maximum(void **state)
{
    (void)state;
    /* service "payment-gateway": payment 40; FATAL 25; "payment failed" 20;
     * "/api/v1/checkout": /checkout group 10 comes before the /api/v1 group 7; 503: 5;
     * 6000 ms > 5000: 5; anomaly 10. 40+25+20+10+5+5+10 = 115, critical. */
    expect_severity(input("payment-gateway", "application", "FATAL", "Payment failed for order 123",
                          "/api/v1/checkout", 503, 6000, true),
                    115, "critical");
}

static void test_severity_halving(void **state)
{
    (void)state;
    /* The same entry from "payment-staging": 115 / 2 = 57.5, truncated 57, medium. */
    expect_severity(input("payment-staging", "application", "FATAL", "Payment failed for order 123",
                          "/api/v1/checkout", 503, 6000, true),
                    57, "medium");
    /* "checkout-test": checkout 40 (its group precedes the test group); ERROR 20;
     * "Order rejected" no group 8; no endpoint 5; 404: 2. 40+20+8+5+2 = 75, / 2 = 37.5
     * truncated 37: low (rounding would have made it medium). */
    expect_severity(input("checkout-test", "sap", "ERROR", "Order rejected", NULL, 404, -1, false),
                    37, "low");
    /* "DEBUG-auth" (case-insensitive): auth 40; ERROR 20; "Cannot connect to ldap" 15;
     * "/authorize" 10; 0 status; 0 ms: 0. 40+20+15+10 = 85, / 2 = 42.5 -> 42, medium. */
    expect_severity(
        input("DEBUG-auth", NULL, "ERROR", "Cannot connect to ldap", "/authorize", 0, 0, false), 42,
        "medium");
    /* Substrings match inside words: "devices-api" contains "dev" (test group 5, and halving);
     * INFO 4; "Latest config loaded" contains "test": 3; no endpoint 5.
     * 5+4+3+5 = 17, / 2 = 8.5 -> 8, low. */
    expect_severity(
        input("devices-api", "application", "INFO", "Latest config loaded", NULL, 0, -1, false), 8,
        "low");
    /* Halving looks at the service only, not at source_type or message: no service, source
     * "application" other 25; DEBUG 2; "debug dump" group 3: 3; "/debug" 1. 25+2+3+1 = 31. */
    expect_severity(input(NULL, "application", "DEBUG", "debug dump", "/debug", 0, -1, false), 31,
                    "low");
}

static void test_severity_service_groups(void **state)
{
    (void)state;
    /* user-service: user 30; ERROR 20; "Database connection failed" group 15 (not 20);
     * "/users/42" contains "/user" 7; 500: 5; 3500 ms > 3000: 3. 30+20+15+7+5+3 = 80, high. */
    expect_severity(input("user-service", "application", "ERROR", "Database connection failed",
                          "/users/42", 500, 3500, false),
                    80, "high");
    /* notification 20; INFO 4; "Job completed" 3; "/health" 1; 200: 0; 50 ms: 0. = 28, low. */
    expect_severity(
        input("notification", "application", "INFO", "Job completed", "/health", 200, 50, false),
        28, "low");
    /* "cache" is in no group ("cart" is not a substring of it): 25; DEBUG 2; "Cache warmed"
     * matches neither "cache miss" nor "warming up": 8; "/foo" other 5; 404: 2;
     * 1500 ms > 1000: 1. 25+2+8+5+2+1 = 43, medium. */
    expect_severity(input("cache", "splunk", "DEBUG", "Cache warmed", "/foo", 404, 1500, false), 43,
                    "medium");
    /* "metrics-collector": metrics 5, no halving word; "error" lower case 20;
     * "Unauthorized access attempt" 20; "/login" 10; 401: 3; exactly 1000 ms is not > 1000: 0.
     * 5+20+20+10+3 = 58, medium. */
    expect_severity(input("metrics-collector", "application", "error",
                          "Unauthorized access attempt", "/login", 401, 1000, false),
                    58, "medium");
}

static void test_severity_source_type_fallback(void **state)
{
    (void)state;
    /* No service: source "splunk" is in no group: 25; WARN 12; "Slow response from upstream"
     * 10; no endpoint 5; no status, no time. 25+12+10+5 = 52, medium. */
    expect_severity(
        input(NULL, "splunk", "WARN", "Slow response from upstream", NULL, 0, -1, false), 52,
        "medium");
    /* The stored source types (splunk, sap, application) are in no group, but a free-form
     * source from POST /api/ml is matched like a service: "Billing" 40+12+10+5 = 67, high. */
    expect_severity(
        input(NULL, "Billing", "WARN", "Slow response from upstream", NULL, 0, -1, false), 67,
        "high");
    /* A service, when present, wins over source_type: "worker" 25+12+10+5 = 52. */
    expect_severity(
        input("worker", "Billing", "WARN", "Slow response from upstream", NULL, 0, -1, false), 52,
        "medium");
    /* "" counts as none too, and so does a missing source_type: 25+12+10+5 = 52. */
    expect_severity(input("", "splunk", "WARN", "Slow response from upstream", "", 0, -1, false),
                    52, "medium");
    expect_severity(input(NULL, NULL, "WARN", "Slow response from upstream", NULL, 0, -1, false),
                    52, "medium");
}

static void test_severity_levels(void **state)
{
    (void)state;
    /* Base: service "worker" other 25; message NULL none 8; endpoint none 5 = 38 + level. */
    static const struct {
        const char *level;
        int points;
    } levels[] = {
        {"FATAL", 25}, {"fatal", 25}, {"ERROR", 20}, {"WARN", 12}, {"WARNING", 12}, {"Warn", 12},
        {"DEBUG", 2},  {"INFO", 4},   {"TRACE", 4},  {"", 4},      {NULL, 4},       {"ERRORS", 4},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        scoring_input_t in =
            input("worker", "application", levels[i].level, NULL, NULL, 0, -1, false);
        assert_int_equal(severity_points(&in), 38 + levels[i].points);
    }
}

static void test_severity_message_groups(void **state)
{
    (void)state;
    /* Base: "worker" 25, INFO 4, no endpoint 5 = 34 + message. First group that matches. */
    static const struct {
        const char *message;
        int points;
    } messages[] = {
        {"SQL Injection detected in query", 20},
        {"Authorization failed for user 7", 20},
        {"test: payment failed", 20},               /* group 20 is checked before group 3 */
        {"Connection timeout to db-server-01", 15}, /* not the 10 of "timeout" */
        {"Deadlock detected", 15},
        {"Request timeout", 10},
        {"Rate limit exceeded", 10},
        {"HIGH LATENCY on /api", 10},
        {"Retrying", 10}, /* "retry" inside a longer word still matches */
        {"Service started successfully", 3},
        {"Warming up caches", 3},
        {"User logged in", 8},
        {"", 8},
    };
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        scoring_input_t in = input("worker", NULL, "INFO", messages[i].message, NULL, 0, -1, false);
        int expected = 34 + messages[i].points;
        if (severity_points(&in) != expected) {
            fail_msg("message \"%s\": %d, want %d", messages[i].message, severity_points(&in),
                     expected);
        }
    }
}

static void test_severity_endpoint_status_time(void **state)
{
    (void)state;
    /* Base: "worker" 25, INFO 4, no message group 8 = 37 + endpoint + status + time. */
    static const struct {
        const char *endpoint;
        int points;
    } endpoints[] = {
        {"/purchase", 10}, {"/api/v1/payment", 10}, {"/REGISTER", 10}, {"/api/v1/items", 7},
        {"/cart/3", 7},    {"/recommendations", 5}, {"/ping", 1},      {"/actuator/info", 1},
        {"/", 5},          {"health", 5}, /* no leading slash: no match */
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        scoring_input_t in =
            input("worker", NULL, "INFO", "x", endpoints[i].endpoint, 0, -1, false);
        assert_int_equal(severity_points(&in), 37 + endpoints[i].points);
    }
    /* http_status: >= 500 5; 401/403 3; other >= 400 2; else 0. Base 37 + endpoint 5 = 42. */
    static const struct {
        int status;
        int points;
    } statuses[] = {{0, 0},   {200, 0}, {302, 0}, {399, 0}, {400, 2}, {401, 3}, {402, 2},
                    {403, 3}, {404, 2}, {499, 2}, {500, 5}, {504, 5}, {600, 5}};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        scoring_input_t in =
            input("worker", NULL, "INFO", "x", NULL, statuses[i].status, -1, false);
        assert_int_equal(severity_points(&in), 42 + statuses[i].points);
    }
    /* response_time_ms: > 5000 5; > 3000 3; > 1000 1; thresholds themselves do not count. */
    static const struct {
        double ms;
        int points;
    } times[] = {{-1, 0},   {0, 0},    {1000, 0},   {1000.01, 1}, {3000, 1},
                 {3001, 3}, {5000, 3}, {5000.5, 5}, {1e9, 5}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        scoring_input_t in = input("worker", NULL, "INFO", "x", NULL, 0, times[i].ms, false);
        assert_int_equal(severity_points(&in), 42 + times[i].points);
    }
}

static void test_severity_thresholds(void **state)
{
    (void)state;
    /* payment 40 + ERROR 20 + "Out of memory" 15 + "/payment" 10 + 500: 5 = 90: critical */
    expect_severity(input("payment", NULL, "ERROR", "Out of memory", "/payment", 500, -1, false),
                    90, "critical");
    /* payment 40 + FATAL 25 + "Out of memory" 15 + "/cart" 7 + 404: 2 = 89: high */
    expect_severity(input("payment", NULL, "FATAL", "Out of memory", "/cart", 404, -1, false), 89,
                    "high");
    /* user 30 + WARN 12 + "timeout" 10 + no endpoint 5 + 503: 5 + 4000 ms: 3 = 65: high */
    expect_severity(input("user", NULL, "WARN", "Upstream timeout", NULL, 503, 4000, false), 65,
                    "high");
    /* user 30 + WARN 12 + "timeout" 10 + "/order" 7 + 503: 5 = 64: medium */
    expect_severity(input("user", NULL, "WARN", "Upstream timeout", "/order", 503, -1, false), 64,
                    "medium");
    /* "worker" 25 + INFO 4 + no group 8 + "/ping" 1 = 38: medium */
    expect_severity(input("worker", NULL, "INFO", "Heartbeat", "/ping", 0, -1, false), 38,
                    "medium");
    /* "worker" 25 + DEBUG 2 + no group 8 + "/ping" 1 + 1001 ms: 1 = 37: low */
    expect_severity(input("worker", NULL, "DEBUG", "Heartbeat", "/ping", 0, 1001, false), 37,
                    "low");

    assert_string_equal(severity_label(SEVERITY_CRITICAL_MIN), "critical");
    assert_string_equal(severity_label(SEVERITY_HIGH_MIN - 1), "medium");
    assert_string_equal(severity_label(0), "low");
    assert_string_equal(severity_label(-5), "low");
}

static void test_severity_confidence(void **state)
{
    (void)state;
    /* 0.5 + 0.05 * min(points to the nearest label change, 10) */
    assert_float_equal(severity_confidence(37), 0.55, EPS); /* 1 up to medium */
    assert_float_equal(severity_confidence(38), 0.55, EPS); /* 1 down to low */
    assert_float_equal(severity_confidence(30), 0.90, EPS); /* 8 up */
    assert_float_equal(severity_confidence(0), 1.0, EPS);   /* 38 up, capped 10 */
    assert_float_equal(severity_confidence(51), 1.0, EPS);  /* 14 down, 14 up */
    assert_float_equal(severity_confidence(60), 0.75, EPS); /* 5 up to 65 */
    assert_float_equal(severity_confidence(64), 0.55, EPS);
    assert_float_equal(severity_confidence(65), 0.55, EPS);
    assert_float_equal(severity_confidence(70), 0.80, EPS); /* 6 down to 64 */
    assert_float_equal(severity_confidence(89), 0.55, EPS);
    assert_float_equal(severity_confidence(90), 0.55, EPS);
    assert_float_equal(severity_confidence(94), 0.75, EPS); /* 5 down to 89 */
    assert_float_equal(severity_confidence(99), 1.0, EPS);
    assert_float_equal(severity_confidence(115), 1.0, EPS);
}


/* ---- anomaly stats-v1 ------------------------------------------------------------------ */

/* A window of 1000 rows where nothing about the entry is rare: hour share 0.2, host/source
 * share 0.5, IP seen, message share 0.1, response time mean 400 ms, stddev 100 ms. */
static anomaly_context_t usual(void)
{
    anomaly_context_t ctx = {
        .total = 1000,
        .hour_count = 200,
        .source_count = 500,
        .ip_seen = true,
        .message_count = 100,
        .rt_mean = 400,
        .rt_stddev = 100,
    };
    return ctx;
}

static anomaly_entry_t entry(const char *message, const char *ip, double rt)
{
    anomaly_entry_t e = {.message = message, .ip = ip, .response_time_ms = rt};
    return e;
}

static void expect_anomaly(anomaly_entry_t e, anomaly_context_t ctx, double score, bool flag,
                           const char *type)
{
    anomaly_result_t r = anomaly_score(&e, &ctx);
    assert_float_equal(r.score, score, EPS);
    assert_int_equal(r.is_anomaly, flag);
    assert_string_equal(r.type, type);
}

static void test_anomaly_usual(void **state)
{
    (void)state;
    /* every share above its limit; 400 ms gives z = 0; no security word: 0, "none" */
    expect_anomaly(entry("User logged in", "10.0.0.1", 400), usual(), 0.0, false, "none");
    /* 450 ms: z = 0.5, 0.5 / 3 = 0.1667: performance, not an anomaly */
    expect_anomaly(entry("User logged in", "10.0.0.1", 450), usual(), 0.5 / 3, false,
                   "performance");
}

static void test_anomaly_timing(void **state)
{
    (void)state;
    /* hour share 2/1000, against an even 1/24: r = 0.002 * 24 = 0.048 < 0.1: 1 - 0.048 */
    anomaly_context_t ctx = usual();
    ctx.hour_count = 2;
    expect_anomaly(entry("ok", "10.0.0.1", -1), ctx, 0.952, true, "timing");
    /* r = (10/2400) * 24 = 0.1 exactly is not < 0.1: skipped */
    ctx.total = 2400;
    ctx.hour_count = 10;
    ctx.source_count = 1200;
    ctx.message_count = 240;
    expect_anomaly(entry("ok", "10.0.0.1", -1), ctx, 0.0, false, "none");
    /* an ordinary hour (1/24 of the window, the literal reading's 0.042) is not unusual */
    ctx.hour_count = 100;
    expect_anomaly(entry("ok", "10.0.0.1", -1), ctx, 0.0, false, "none");
}

static void test_anomaly_source(void **state)
{
    (void)state;
    /* host/source share 30/1000 = 0.03 < 0.05: 0.97 */
    anomaly_context_t ctx = usual();
    ctx.source_count = 30;
    expect_anomaly(entry("ok", "10.0.0.1", -1), ctx, 0.97, true, "source");
    /* a never-seen IP alone: 0.8 */
    ctx = usual();
    ctx.ip_seen = false;
    expect_anomaly(entry("ok", "203.0.113.9", -1), ctx, 0.8, true, "source");
    /* both: the larger, 0.97 */
    ctx.source_count = 30;
    expect_anomaly(entry("ok", "203.0.113.9", -1), ctx, 0.97, true, "source");
    /* no IP on the entry: the IP rule does not apply */
    ctx = usual();
    ctx.ip_seen = false;
    expect_anomaly(entry("ok", NULL, -1), ctx, 0.0, false, "none");
    expect_anomaly(entry("ok", "", -1), ctx, 0.0, false, "none");
}

static void test_anomaly_content(void **state)
{
    (void)state;
    /* message share 5/1000 = 0.005 < 0.01: 0.995 */
    anomaly_context_t ctx = usual();
    ctx.message_count = 5;
    expect_anomaly(entry("Kernel panic", "10.0.0.1", -1), ctx, 0.995, true, "content");
    /* never seen before: share 0, 1.0 */
    ctx.message_count = 0;
    expect_anomaly(entry("Kernel panic", "10.0.0.1", -1), ctx, 1.0, true, "content");
    /* 10/1000 = 0.01 is not < 0.01 */
    ctx.message_count = 10;
    expect_anomaly(entry("Kernel panic", "10.0.0.1", -1), ctx, 0.0, false, "none");
}

static void test_anomaly_performance(void **state)
{
    (void)state;
    /* (640 - 400) / 100 = 2.4; 2.4 / 3 = 0.8 */
    expect_anomaly(entry("ok", "10.0.0.1", 640), usual(), 0.8, true, "performance");
    /* (0 - 400) / 100 = -4; |z| / 3 = 1.33, capped at 1 */
    expect_anomaly(entry("ok", "10.0.0.1", 0), usual(), 1.0, true, "performance");
    /* (580 - 400) / 100 = 1.8; 0.6: below 0.7 */
    expect_anomaly(entry("ok", "10.0.0.1", 580), usual(), 0.6, false, "performance");
    /* stddev 0 (all equal so far): skipped, not a division by zero */
    anomaly_context_t ctx = usual();
    ctx.rt_stddev = 0;
    expect_anomaly(entry("ok", "10.0.0.1", 5000), ctx, 0.0, false, "none");
}

static void test_anomaly_security(void **state)
{
    (void)state;
    /* breach, attack, unauthorized, hack, malware present (hack twice counts once; virus
     * absent): 5 / 6 = 0.8333 */
    expect_anomaly(
        entry("Possible ATTACK: unauthorized malware upload, breach suspected, hack hack",
              "10.0.0.1", -1),
        usual(), 5.0 / 6, true, "security");
    /* "Unauthorized", "hacker" (contains hack), "virus": 3 / 6 = 0.5, not an anomaly */
    expect_anomaly(entry("Unauthorized hacker uploaded a virus", "10.0.0.1", -1), usual(), 0.5,
                   false, "security");
    /* all six: 1.0 */
    expect_anomaly(entry("breach attack unauthorized hack malware virus", "10.0.0.1", -1), usual(),
                   1.0, true, "security");
    /* no message */
    expect_anomaly(entry(NULL, "10.0.0.1", -1), usual(), 0.0, false, "none");
}

static void test_anomaly_ties_and_max(void **state)
{
    (void)state;
    /* timing 1 - (1/4800) * 24 = 0.995 and content 1 - 24/4800 = 0.995 tie: timing wins */
    anomaly_context_t ctx = usual();
    ctx.total = 4800;
    ctx.source_count = 2400;
    ctx.hour_count = 1;
    ctx.message_count = 24;
    expect_anomaly(entry("ok", "10.0.0.1", -1), ctx, 0.995, true, "timing");
    /* timing 1 - (1/1200) * 24 = 0.98 against performance 1.0 (z = 6): performance wins */
    ctx = usual();
    ctx.total = 1200;
    ctx.source_count = 600;
    ctx.message_count = 120;
    ctx.hour_count = 1;
    expect_anomaly(entry("ok", "10.0.0.1", 1000), ctx, 1.0, true, "performance");
}

static void test_anomaly_empty_history(void **state)
{
    (void)state;
    /* total 0: timing, source (share and IP) and content are skipped; no response statistics:
     * performance skipped; "ok" has no security word. Score 0, "none". */
    anomaly_context_t empty = {0};
    expect_anomaly(entry("ok", "10.0.0.1", 250), empty, 0.0, false, "none");
    /* security still applies: "breach" and "attack", 2 / 6 */
    expect_anomaly(entry("data breach after attack", NULL, -1), empty, 2.0 / 6, false, "security");
    /* counts larger than total (a caller bug) are clamped, not turned into negative scores */
    anomaly_context_t odd = usual();
    odd.hour_count = 5000;
    expect_anomaly(entry("ok", "10.0.0.1", -1), odd, 0.0, false, "none");
}

static void test_anomaly_confidence(void **state)
{
    (void)state;
    /* below 0.7: 0.5 + 0.5 * (0.7 - s) / 0.7; at or above: 0.5 + 0.5 * (s - 0.7) / 0.3 */
    assert_float_equal(anomaly_confidence(0.0), 1.0, EPS);
    assert_float_equal(anomaly_confidence(0.35), 0.75, EPS);
    assert_float_equal(anomaly_confidence(0.7), 0.5, EPS);
    assert_float_equal(anomaly_confidence(0.85), 0.75, EPS);
    assert_float_equal(anomaly_confidence(1.0), 1.0, EPS);
    assert_float_equal(anomaly_confidence(-3), 1.0, EPS);
    assert_float_equal(anomaly_confidence(7), 1.0, EPS);
}

static void test_model_names(void **state)
{
    (void)state;
    assert_string_equal(SEVERITY_MODEL_VERSION, "rules-v1");
    assert_string_equal(ANOMALY_MODEL_VERSION, "stats-v1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_maximum),
        cmocka_unit_test(test_severity_halving),
        cmocka_unit_test(test_severity_service_groups),
        cmocka_unit_test(test_severity_source_type_fallback),
        cmocka_unit_test(test_severity_levels),
        cmocka_unit_test(test_severity_message_groups),
        cmocka_unit_test(test_severity_endpoint_status_time),
        cmocka_unit_test(test_severity_thresholds),
        cmocka_unit_test(test_severity_confidence),
        cmocka_unit_test(test_anomaly_usual),
        cmocka_unit_test(test_anomaly_timing),
        cmocka_unit_test(test_anomaly_source),
        cmocka_unit_test(test_anomaly_content),
        cmocka_unit_test(test_anomaly_performance),
        cmocka_unit_test(test_anomaly_security),
        cmocka_unit_test(test_anomaly_ties_and_max),
        cmocka_unit_test(test_anomaly_empty_history),
        cmocka_unit_test(test_anomaly_confidence),
        cmocka_unit_test(test_model_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
