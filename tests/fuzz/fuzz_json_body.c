/* fuzz_json_body.c -- libFuzzer driver: arbitrary bytes as a POST body for /api/auth
 * (token_parse_request) and /api/ml (mlbatch_parse_request), and every accepted log item
 * scored against a small fixed context */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mlbatch.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A context as CONTEXT_SQL would return it: the bounds, then 30 rows over two hours. */
static PGresult *fixed_context(void *arg, const char *sql, int nparams, const char *const *values)
{
    static const char *const cells[][15] = {
        {NULL, NULL, NULL, NULL, NULL, NULL, "0", "0", "0", "0", "0", "0",
         "2025-10-18 12:00:00+00", "1760702400000", "1760788800000"},
        {"3", "3", "web-1", "splunk", NULL, NULL, "20", "20", "2000", "220000", "1", "20",
         "2025-10-18 12:00:00+00", "1760702400000", "1760788800000"},
        {"3", "4", NULL, "sap", NULL, NULL, "10", "5", "500", "60000", "21", "30",
         "2025-10-18 12:00:00+00", "1760702400000", "1760788800000"},
        {"29", NULL, NULL, NULL, "ok", NULL, "30", "0", "0", "0", "0", "0",
         "2025-10-18 12:00:00+00", "1760702400000", "1760788800000"},
        {"30", NULL, NULL, NULL, NULL, "10.0.0.1", "30", "0", "0", "0", "0", "0",
         "2025-10-18 12:00:00+00", "1760702400000", "1760788800000"},
    };
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[15];
    (void)arg;
    (void)sql;
    (void)nparams;
    (void)values;
    memset(attrs, 0, sizeof attrs);
    for (int c = 0; c < 15; c++) {
        attrs[c].name = (char *)"c";
        attrs[c].typlen = -1;
    }
    PQsetResultAttrs(r, 15, attrs);
    for (int row = 0; row < 5; row++) {
        for (int c = 0; c < 15; c++) {
            const char *v = cells[row][c];
            PQsetvalue(r, row, c, (char *)v, v != NULL ? (int)strlen(v) : -1);
        }
    }
    return r;
}

static const mlbatch_context_t *context(void)
{
    static mlbatch_context_t *ctx;
    if (ctx == NULL) {
        mlbatch_db_t db = {fixed_context, NULL};
        ctx = mlbatch_context_load(&db, NULL, NULL, NULL);
        if (ctx == NULL)
            abort();
    }
    return ctx;
}

static void check_token_request(const char *body, size_t size)
{
    token_request_t rq;
    const char *field = NULL, *why = NULL;

    if (token_parse_request(body, size, &rq, &field, &why) != 0) {
        if (why == NULL)
            abort();
        return;
    }
    if (rq.kind == TOKEN_REQUEST_LOGIN) {
        size_t u = strlen(rq.username), p = strlen(rq.password);
        if (u == 0 || u > TOKEN_USERNAME_MAX || p == 0 || p > TOKEN_PASSWORD_MAX ||
            rq.refresh_token[0] != '\0' || !http_utf8_valid(rq.username, u) ||
            !http_utf8_valid(rq.password, p))
            abort();
    } else if (rq.kind == TOKEN_REQUEST_REFRESH) {
        size_t t = strlen(rq.refresh_token);
        if (t == 0 || t > JWT_MAX_TOKEN_LEN || rq.username[0] != '\0' || rq.password[0] != '\0')
            abort();
    } else {
        abort();
    }
    token_request_wipe(&rq);
}

static void check_ml_request(const char *body, size_t size)
{
    static mlbatch_request_t rq;
    const char *why = NULL;

    if (mlbatch_parse_request(body, size, &rq, &why) != MLBATCH_PARSE_OK) {
        if (why == NULL || rq.root != NULL)
            abort();
        return;
    }
    if (rq.nitems < 0 || rq.nitems > MLBATCH_MAX_ITEMS ||
        (rq.action != MLBATCH_ACTION_ANALYZE && rq.nitems != 0))
        abort();
    for (int i = 0; i < rq.nitems; i++) {
        const mlbatch_item_t *it = &rq.items[i];
        char again[INET6_ADDRSTRLEN];
        mlbatch_prediction_t p;
        if (it->entry.message == NULL || it->entry.level == NULL ||
            it->entry.source_type == NULL || it->entry.hour < 0 || it->entry.hour > 23 ||
            (it->log_entry_id > 0 && it->log_id != NULL) ||
            (it->entry.ip != NULL && (mlbatch_canonical_ip(it->entry.ip, again) != 0 ||
                                      strcmp(again, it->entry.ip) != 0)))
            abort();
        mlbatch_score(context(), &it->entry, &p);
        if (!(p.anomaly.score >= 0.0 && p.anomaly.score <= 1.0) || p.severity == NULL ||
            !(p.level_confidence >= 0.55 && p.level_confidence <= 1.0) ||
            !(p.anomaly_confidence >= 0.5 && p.anomaly_confidence <= 1.0))
            abort();
    }
    mlbatch_request_free(&rq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);

    if (body == NULL)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    check_token_request(body, size);
    check_ml_request(body, size);
    free(body);
    return 0;
}
