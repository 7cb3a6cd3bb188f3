/* test_mlbatch.c -- the ML context and scoring, the batch's chunking and upsert arrays (with a
 * scripted executor standing in for the database), and the POST /api/ml body parser */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlbatch.h"

#define EPS 1e-9
#define CTX_COLUMNS 15

/* ---- a scripted executor ---------------------------------------------------------------- */

#define MAX_CALLS 16

typedef struct script {
    PGresult *results[MAX_CALLS]; /* handed out in order; NULL entries mean a failure */
    int nresults;
    int calls;
    char *sql[MAX_CALLS];
    char *params[MAX_CALLS][8];
} script_t;

static PGresult *scripted_exec(void *arg, const char *sql, int nparams, const char *const *values)
{
    script_t *s = arg;
    int i = s->calls++;

    assert_true(i < s->nresults);
    s->sql[i] = strdup(sql);
    for (int p = 0; p < nparams && p < 8; p++)
        s->params[i][p] = values[p] != NULL ? strdup(values[p]) : NULL;
    return s->results[i];
}

static void script_free(script_t *s)
{
    for (int i = 0; i < s->calls; i++) {
        free(s->sql[i]);
        for (int p = 0; p < 8; p++)
            free(s->params[i][p]);
    }
    for (int i = s->calls; i < s->nresults; i++)
        PQclear(s->results[i]);
}

/* A tuples result of ncols text columns; rows[r][c] NULL is SQL NULL. */
static PGresult *make_result(int ncols, int nrows, const char *const *cells)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[CTX_COLUMNS];
    char names[CTX_COLUMNS][8];

    assert_true(ncols <= CTX_COLUMNS);
    for (int c = 0; c < ncols; c++) {
        snprintf(names[c], sizeof names[c], "c%d", c);
        memset(&attrs[c], 0, sizeof attrs[c]);
        attrs[c].name = names[c];
        attrs[c].typlen = -1;
    }
    assert_int_equal(PQsetResultAttrs(r, ncols, attrs), 1);
    for (int row = 0; row < nrows; row++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[row * ncols + c];
            assert_int_equal(PQsetvalue(r, row, c, (char *)v, v != NULL ? (int)strlen(v) : -1), 1);
        }
    }
    return r;
}

#define TO "2025-10-18 12:00:00+00"
#define FROM_MS "1760702400000"
#define TO_MS "1760788800000"

/* A context of 100 rows, as CONTEXT_SQL returns it (the bounds row first; the data rows'
 * bound columns are ignored):
 *   hour 3: 10 rows (web-1/splunk 6, (no host)/sap 4), hour 4: 90 rows (web-1/splunk 90);
 *   messages "ok" 99, "rare" 1; IPs 10.0.0.1 x1, 10.0.0.2 x50;
 *   response times: 100 rows with values summing to 10000, squares to 1010000 (mean 100,
 *   sample variance (1010000 - 10000^2/100) / 99 = 10000/99). */
static PGresult *context_result(void)
{
    static const char *const cells[] = {
        /* grouping hr host source msg ip n rt_n rt_sum rt_sumsq min max to from_ms to_ms */
        NULL, NULL, NULL, NULL, NULL, NULL, "0", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        "3", "3", "web-1", "splunk", NULL, NULL, "6", "6", "600", "60600", "5", "10", TO, FROM_MS, TO_MS,
        "3", "3", NULL, "sap", NULL, NULL, "4", "4", "400", "40400", "1", "4", TO, FROM_MS, TO_MS,
        "3", "4", "web-1", "splunk", NULL, NULL, "90", "90", "9000", "909000", "11", "12000", TO, FROM_MS, TO_MS,
        "29", NULL, NULL, NULL, "ok", NULL, "99", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        "29", NULL, NULL, NULL, "rare", NULL, "1", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        "29", NULL, NULL, NULL, NULL, NULL, "0", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        "30", NULL, NULL, NULL, NULL, "10.0.0.1", "1", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        "30", NULL, NULL, NULL, NULL, "10.0.0.2", "49", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
        /* the same address under another netmask: host() prints it alike, counts add up */
        "30", NULL, NULL, NULL, NULL, "10.0.0.2", "1", "0", "0", "0", "0", "0", TO, FROM_MS, TO_MS,
    };
    return make_result(CTX_COLUMNS, 10, cells);
}

static mlbatch_context_t *load_context(script_t *s)
{
    mlbatch_db_t db = {scripted_exec, s};
    memset(s, 0, sizeof *s);
    s->results[0] = context_result();
    s->nresults = 1;
    return mlbatch_context_load(&db, NULL, NULL, NULL);
}

static mlbatch_entry_t entry(int hour, const char *host, const char *source_type,
                             const char *message, const char *ip, double rt, bool in_window)
{
    mlbatch_entry_t e = {
        .hour = hour,
        .host = host,
        .source_type = source_type,
        .level = "INFO",
        .message = message,
        .ip = ip,
        .response_time_ms = rt,
        .in_window = in_window,
    };
    return e;
}

static void test_context_bounds(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    (void)state;
    assert_non_null(ctx);
    assert_int_equal(mlbatch_context_from_ms(ctx), 1760702400000LL);
    assert_int_equal(mlbatch_context_to_ms(ctx), 1760788800000LL);
    assert_null(s.params[0][0]);
    assert_string_equal(s.params[0][3], "24");
    mlbatch_context_free(ctx);
    script_free(&s);
}

/* The hour's share, against an even 1/24 spread, decides between "timing" and nothing. */
static void test_timing_against_even_spread(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e;
    (void)state;

    /* hour 3 holds 10/100, 2.4 times an even share, out of the window or (9/99) in it: usual */
    e = entry(3, "web-1", "splunk", "ok", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    assert_string_equal(p.anomaly.type, "none");
    e.in_window = true;
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    /* hour 5 has no row in the window: ratio 0, timing 1 */
    e = entry(5, "web-1", "splunk", "ok", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 1.0, EPS);
    assert_string_equal(p.anomaly.type, "timing");
    assert_true(p.anomaly.is_anomaly);
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_sources_and_hosts(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e;
    (void)state;

    /* hour 4 (share 0.9), unseen host: source share 0 -> 1.0 */
    e = entry(4, "db-9", "splunk", "ok", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 1.0, EPS);
    assert_string_equal(p.anomaly.type, "source");
    /* no host: compared on source_type alone; sap has 4/100 < 0.05 -> 0.96 */
    e = entry(4, NULL, "sap", "ok", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.96, EPS);
    assert_string_equal(p.anomaly.type, "source");
    /* splunk alone: 96/100, not rare */
    e = entry(4, NULL, "splunk", "ok", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_ip_seen_by_others(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e;
    (void)state;

    /* 10.0.0.1 occurs once: for a posted entry it is seen ... */
    e = entry(4, "web-1", "splunk", "ok", "10.0.0.1", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    /* ... for the stored row that carries it, no other row has it: 0.8 */
    e.in_window = true;
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.8, EPS);
    assert_string_equal(p.anomaly.type, "source");
    /* an address never seen at all */
    e = entry(4, "web-1", "splunk", "ok", "192.0.2.7", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.8, EPS);
    /* two netmask variants of 10.0.0.2 added up: 50 - 1 others remain */
    e = entry(4, "web-1", "splunk", "ok", "10.0.0.2", -1, true);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_content_rarity(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e;
    (void)state;

    /* "rare" once in 100: 0.01 is not < 0.01 for a posted entry; alone for the stored one */
    e = entry(4, "web-1", "splunk", "rare", "10.0.0.2", -1, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 0.0, EPS);
    e.in_window = true;
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, 1.0, EPS);
    assert_string_equal(p.anomaly.type, "content");
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_response_time_statistics(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e;
    double sd = sqrt(10000.0 / 99.0), n, sum, sumsq, mean, sd_others;
    (void)state;

    /* posted: z = (120 - 100) / sd */
    e = entry(4, "web-1", "splunk", "ok", "10.0.0.2", 120, false);
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, fmin(20.0 / sd / 3.0, 1.0), 1e-9);
    assert_string_equal(p.anomaly.type, "performance");
    /* stored: the mean and deviation of the 99 others */
    e.in_window = true;
    n = 99;
    sum = 10000 - 120;
    sumsq = 1010000 - 120.0 * 120.0;
    mean = sum / n;
    sd_others = sqrt((sumsq - sum * sum / n) / (n - 1));
    mlbatch_score(ctx, &e, &p);
    assert_float_equal(p.anomaly.score, fmin(fabs(120 - mean) / sd_others / 3.0, 1.0), 1e-9);
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_severity_fields(void **state)
{
    script_t s;
    mlbatch_context_t *ctx = load_context(&s);
    mlbatch_prediction_t p;
    mlbatch_entry_t e = entry(4, "web-1", "splunk", "Payment failed", "10.0.0.2", 5500, false);
    (void)state;

    e.service = "payment";
    e.level = "FATAL";
    e.endpoint = "/checkout";
    e.http_status = 503;
    e.labelled_anomaly = true;
    mlbatch_score(ctx, &e, &p);
    /* 40 + 25 + 20 + 10 + 5 + 5 + 10 */
    assert_int_equal(p.severity_points, 115);
    assert_string_equal(p.severity, "critical");
    assert_float_equal(p.level_confidence, severity_confidence(115), EPS);
    assert_float_equal(p.anomaly_confidence, anomaly_confidence(p.anomaly.score), EPS);
    mlbatch_context_free(ctx);
    script_free(&s);
}

static void test_empty_window(void **state)
{
    static const char *const cells[] = {
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, TO, FROM_MS, TO_MS,
    };
    script_t s = {.nresults = 2};
    mlbatch_db_t db = {scripted_exec, &s};
    mlbatch_counts_t counts;
    static const char *const record[] = {"42"};
    (void)state;

    s.results[0] = make_result(CTX_COLUMNS, 1, cells);
    s.results[1] = make_result(1, 1, record);
    assert_int_equal(mlbatch_run(&db, "cli", &counts), 0);
    /* no candidate query at all: straight to the record of the run */
    assert_int_equal(s.calls, 2);
    assert_non_null(strstr(s.sql[1], "INSERT INTO ml_batch_runs"));
    assert_string_equal(s.params[1][0], TO);
    assert_string_equal(s.params[1][1], "0");
    assert_string_equal(s.params[1][5], "cli");
    assert_int_equal(counts.scored, 0);
    assert_int_equal(counts.duration_ms, 42);
    assert_int_equal(counts.window_to_ms, 1760788800000LL);
    script_free(&s);
}

/* Ids 1..12000 in the window: three id ranges; the first yields two rows. */
static void test_batch_chunks(void **state)
{
    static const char *const rows[] = {
        "7", "3", "web-1", "splunk", "payment", "ERROR", "Payment failed", "/checkout", "10.0.0.2",
        "500", "4000.5", "t",
        "9", "4", NULL, "sap", NULL, "INFO", "ok", NULL, NULL, NULL, NULL, "f",
    };
    static const char *const upserted[] = {"2", "0"};
    static const char *const record[] = {"5"};
    script_t s = {.nresults = 6};
    mlbatch_db_t db = {scripted_exec, &s};
    mlbatch_counts_t counts;
    mlbatch_entry_t e7 = entry(3, "web-1", "splunk", "Payment failed", "10.0.0.2", 4000.5, true);
    mlbatch_prediction_t p7;
    char expect[256];
    mlbatch_context_t *ctx;
    script_t s2;
    (void)state;

    s.results[0] = context_result();
    s.results[1] = make_result(12, 2, rows);
    s.results[2] = make_result(2, 1, upserted);
    s.results[3] = make_result(12, 0, rows);
    s.results[4] = make_result(12, 0, rows);
    s.results[5] = make_result(1, 1, record);
    assert_int_equal(mlbatch_run(&db, "api", &counts), 0);
    assert_int_equal(s.calls, 6);
    /* (0, 5000], (5000, 10000], (10000, 12000] */
    assert_string_equal(s.params[1][0], "0");
    assert_string_equal(s.params[1][1], "5000");
    assert_string_equal(s.params[1][2], TO);
    assert_string_equal(s.params[3][0], "5000");
    assert_string_equal(s.params[3][1], "10000");
    assert_string_equal(s.params[4][0], "10000");
    assert_string_equal(s.params[4][1], "12000");
    /* the upsert carries one array literal per column, in row order */
    assert_non_null(strstr(s.sql[2], "ON CONFLICT (log_entry_id) DO UPDATE"));
    assert_string_equal(s.params[2][0], "{7,9}");
    assert_string_equal(s.params[2][6], MLBATCH_MODEL_VERSION);

    /* row 7 scored as the batch must have scored it */
    ctx = load_context(&s2);
    e7.service = "payment";
    e7.level = "ERROR";
    e7.endpoint = "/checkout";
    e7.http_status = 500;
    e7.labelled_anomaly = true;
    mlbatch_score(ctx, &e7, &p7);
    snprintf(expect, sizeof expect, "{%s,", p7.severity);
    assert_true(strncmp(s.params[2][1], expect, strlen(expect)) == 0);
    snprintf(expect, sizeof expect, "{%.6g,", p7.anomaly.score);
    assert_true(strncmp(s.params[2][4], expect, strlen(expect)) == 0);
    snprintf(expect, sizeof expect, "{%s,", p7.anomaly.is_anomaly ? "t" : "f");
    assert_true(strncmp(s.params[2][3], expect, strlen(expect)) == 0);
    mlbatch_context_free(ctx);
    script_free(&s2);

    assert_int_equal(counts.scored, 2);
    assert_int_equal(counts.inserted, 2);
    assert_int_equal(counts.updated, 0);
    assert_string_equal(s.params[5][1], "2");
    assert_string_equal(s.params[5][2], "2");
    assert_string_equal(s.params[5][5], "api");
    script_free(&s);
}

static void test_batch_stops_on_failure(void **state)
{
    script_t s = {.nresults = 2};
    mlbatch_db_t db = {scripted_exec, &s};
    mlbatch_counts_t counts;
    (void)state;

    s.results[0] = context_result();
    s.results[1] = NULL; /* the first candidate query fails */
    assert_int_equal(mlbatch_run(&db, "cli", &counts), -1);
    assert_int_equal(s.calls, 2);
    script_free(&s);
}

static void test_canonical_ip(void **state)
{
    char out[INET6_ADDRSTRLEN];
    (void)state;
    assert_int_equal(mlbatch_canonical_ip("10.0.0.1", out), 0);
    assert_string_equal(out, "10.0.0.1");
    assert_int_equal(mlbatch_canonical_ip("2001:DB8:0:0:0:0:0:1", out), 0);
    assert_string_equal(out, "2001:db8::1");
    assert_int_equal(mlbatch_canonical_ip("10.0.0.01", out), -1);
    assert_int_equal(mlbatch_canonical_ip("10.0.0.1/8", out), -1);
    assert_int_equal(mlbatch_canonical_ip("", out), -1);
    assert_int_equal(mlbatch_canonical_ip("host", out), -1);
}

/* ---- the POST body ------------------------------------------------------------------------ */

static enum mlbatch_parse_status parse(const char *body, mlbatch_request_t *rq, const char **why)
{
    enum mlbatch_parse_status s = mlbatch_parse_request(body, strlen(body), rq, why);
    if (s != MLBATCH_PARSE_OK)
        assert_non_null(*why);
    return s;
}

static void test_parse_items(void **state)
{
    mlbatch_request_t *rq = malloc(sizeof *rq);
    const char *why = NULL;
    (void)state;

    assert_int_equal(
        parse("{\"action\":\"Analyze\",\"log_data\":["
              "{\"id\":\"12\",\"message\":\"m\",\"level\":\"warning\",\"source\":\"SPLUNK\","
              "\"timestamp\":\"2025-01-01T23:30:00-01:00\",\"responseTime\":12.5,"
              "\"ipAddress\":\"2001:DB8::1\",\"isAnomaly\":true,\"httpStatus\":404,"
              "\"host\":\"h\",\"service\":\"s\",\"endpoint\":\"/e\",\"category\":\"ignored\"},"
              "{\"id\":7,\"message\":\"m2\",\"level\":\"INFO\",\"source_type\":\"sap\","
              "\"timestamp\":\"1970-01-01T00:30:00+01:00\",\"response_time_ms\":null},"
              "{\"id\":\"log-abc\",\"message\":\"m3\",\"level\":\"FATAL\",\"source\":\"application\","
              "\"timestamp\":\"2025-01-01T00:00:00Z\"},"
              "{\"id\":\"0123\",\"message\":\"m4\",\"level\":\"DEBUG\",\"source\":\"sap\","
              "\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
              rq, &why),
        MLBATCH_PARSE_OK);
    assert_int_equal(rq->action, MLBATCH_ACTION_ANALYZE);
    assert_int_equal(rq->nitems, 4);
    assert_int_equal(rq->items[0].log_entry_id, 12);
    assert_null(rq->items[0].log_id);
    assert_string_equal(rq->items[0].entry.level, "WARN");
    assert_string_equal(rq->items[0].entry.source_type, "splunk");
    assert_int_equal(rq->items[0].entry.hour, 0); /* 23:30 at -01:00 is 00:30 UTC */
    assert_float_equal(rq->items[0].entry.response_time_ms, 12.5, EPS);
    assert_string_equal(rq->items[0].entry.ip, "2001:db8::1");
    assert_true(rq->items[0].entry.labelled_anomaly);
    assert_int_equal(rq->items[0].entry.http_status, 404);
    assert_string_equal(rq->items[0].entry.endpoint, "/e");
    assert_false(rq->items[0].entry.in_window);
    assert_int_equal(rq->items[1].log_entry_id, 7);
    assert_int_equal(rq->items[1].entry.hour, 23);
    assert_true(rq->items[1].entry.response_time_ms < 0);
    assert_null(rq->items[1].entry.ip);
    assert_int_equal(rq->items[2].log_entry_id, 0);
    assert_string_equal(rq->items[2].log_id, "log-abc");
    assert_string_equal(rq->items[3].log_id, "0123");
    mlbatch_request_free(rq);

    assert_int_equal(parse("{\"action\":\"batch\",\"log_data\":7}", rq, &why), MLBATCH_PARSE_OK);
    assert_int_equal(rq->action, MLBATCH_ACTION_BATCH);
    mlbatch_request_free(rq);
    assert_int_equal(parse("{\"action\":\"train\"}", rq, &why), MLBATCH_PARSE_OK);
    assert_int_equal(rq->action, MLBATCH_ACTION_UNKNOWN);
    mlbatch_request_free(rq);
    assert_int_equal(parse("{\"log_data\":[]}", rq, &why), MLBATCH_PARSE_OK);
    assert_int_equal(rq->action, MLBATCH_ACTION_ANALYZE);
    assert_int_equal(rq->nitems, 0);
    mlbatch_request_free(rq);
    free(rq);
}

static void test_parse_rejects(void **state)
{
    static const struct {
        const char *body;
        enum mlbatch_parse_status status;
        const char *field;
    } cases[] = {
        {"", MLBATCH_PARSE_SHAPE, ""},
        {"[]", MLBATCH_PARSE_SHAPE, ""},
        {"{\"log_data\":[]} x", MLBATCH_PARSE_SHAPE, ""},
        {"{\"action\":1}", MLBATCH_PARSE_SHAPE, "action"},
        {"{\"action\":\"analyze\"}", MLBATCH_PARSE_SHAPE, "log_data"},
        {"{\"log_data\":[1]}", MLBATCH_PARSE_SHAPE, "log_data[0]"},
        {"{\"log_data\":[{\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_SHAPE, "log_data[0].message"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"LOUD\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].level"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"syslog\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].source"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"yesterday\"}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].timestamp"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"source_type\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_SHAPE, "log_data[0].source"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"ipAddress\":\"999.1.1.1\"}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].ip_address"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"httpStatus\":99}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].httpStatus"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"responseTime\":-1}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].responseTime"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"responseTime\":\"5\"}]}",
         MLBATCH_PARSE_SHAPE, "log_data[0].responseTime"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"isAnomaly\":1}]}",
         MLBATCH_PARSE_SHAPE, "log_data[0].isAnomaly"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"id\":1.5}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].id"},
        {"{\"log_data\":[{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"id\":[]}]}",
         MLBATCH_PARSE_SHAPE, "log_data[0].id"},
        {"{\"log_data\":[{\"message\":\"\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_VALUE, "log_data[0].message"},
        {"{\"log_data\":[{\"message\":\"\\udc00\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]}",
         MLBATCH_PARSE_SHAPE, ""},
    };
    mlbatch_request_t *rq = malloc(sizeof *rq);
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        enum mlbatch_parse_status s = parse(cases[i].body, rq, &why);
        if (s != cases[i].status || strcmp(rq->field, cases[i].field) != 0)
            fail_msg("case %zu (%s): status %d field '%s', want %d '%s'", i, cases[i].body, s,
                     rq->field, cases[i].status, cases[i].field);
        assert_null(rq->root);
    }
    free(rq);
}

static void test_parse_item_limit(void **state)
{
    static const char item[] =
        "{\"message\":\"m\",\"level\":\"INFO\",\"source\":\"sap\",\"timestamp\":\"2025-01-01T00:00:00Z\"}";
    size_t cap = 200 * sizeof item + 64;
    char *body = malloc(cap);
    mlbatch_request_t *rq = malloc(sizeof *rq);
    const char *why = NULL;
    (void)state;

    for (int n = 100; n <= 101; n++) {
        size_t len = (size_t)snprintf(body, cap, "{\"log_data\":[");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(body + len, cap - len, "%s%s", i ? "," : "", item);
        snprintf(body + len, cap - len, "]}");
        if (n == 100) {
            assert_int_equal(parse(body, rq, &why), MLBATCH_PARSE_OK);
            assert_int_equal(rq->nitems, 100);
            mlbatch_request_free(rq);
        } else {
            assert_int_equal(parse(body, rq, &why), MLBATCH_PARSE_VALUE);
            assert_string_equal(rq->field, "log_data");
        }
    }
    free(body);
    free(rq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_bounds),
        cmocka_unit_test(test_timing_against_even_spread),
        cmocka_unit_test(test_sources_and_hosts),
        cmocka_unit_test(test_ip_seen_by_others),
        cmocka_unit_test(test_content_rarity),
        cmocka_unit_test(test_response_time_statistics),
        cmocka_unit_test(test_severity_fields),
        cmocka_unit_test(test_empty_window),
        cmocka_unit_test(test_batch_chunks),
        cmocka_unit_test(test_batch_stops_on_failure),
        cmocka_unit_test(test_canonical_ip),
        cmocka_unit_test(test_parse_items),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_item_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
