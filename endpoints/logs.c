/* logs.c -- /api/logs: GET lists log entries (filters, pages, keyset cursor, counts by level);
 * POST ingests a batch of entries, JSON array or NDJSON, validated whole and written at once.
 *
 * Counting rule of GET. Without `search`, total_count and the summary are exact and cheap:
 * they come from log_tally(from, to) (per-minute and per-hour tallies that triggers keep
 * exact, plus the partial minutes at both ends read from log_entries), filtered by level,
 * source and anomaly. With `search`, matching cannot be pre-aggregated, so at most the
 * SEARCH_COUNT_CAP newest matching rows are counted (one LIMITed index walk or trigram
 * bitmap scan): up to the cap the figures are exact; past it total_count is the cap (a lower
 * bound), the summary counts by level those newest SEARCH_COUNT_CAP matches, and pagination
 * says "total_is_estimate": true. total_is_estimate is false in every other response.
 * Relative time ranges end at the request's arrival ([now - range, now)). Deep pages go by
 * next_cursor (keyset on "timestamp" DESC, id DESC); with a cursor, page must be 1 and the
 * page returned is the one after the cursor's row, while the counts cover the whole set.
 *
 * Ingest limits of POST: a body of at most INGEST_MAX_BYTES (15 MiB, under nginx's 16m so
 * that the refusal is this route's JSON 413) and at most INGEST_MAX_ENTRIES (10,000) entries;
 * more entries is a 413 as well. Every entry is checked against its column before anything
 * is written; any bad entry fails the batch with a list of errors (index, field, message).
 * A valid batch is one INSERT in one transaction; a log_id that exists already, or that
 * repeats inside the batch, is skipped and counted in "duplicates". */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "db.h"
#include "ingest.h"
#include "log.h"
#include "textbuf.h"
#include "timeutil.h"
#include "worker.h"

#define PAGE_MAX 10000
#define PAGE_SIZE_MAX 500
#define PAGE_SIZE_DEFAULT 50
#define SEARCH_MAX_BYTES 200
#define CURSOR_MAX_CHARS 64
#define SEARCH_COUNT_CAP 1000
#define STR_(x) #x
#define STR(x) STR_(x)

#define INGEST_MAX_BYTES (15u * 1024 * 1024)
#define INGEST_MAX_ENTRIES 10000
#define INGEST_MAX_ERRORS 100   /* errors listed in a 400; error_count has them all */
#define INGEST_ID_ATTEMPTS 3    /* a generated log_id clashing is retried, see below */
#define FIELD_NAME_MAX_BYTES 64 /* longer unknown field names are not echoed back */


/* ---- GET ---------------------------------------------------------------------------------- */

/* The GET statement is assembled from the filters present: no "$n IS NULL OR ..." branches,
 * so the planner sees exactly the conditions that apply and picks the index for them (the
 * partial alert index for level=ERROR, the timestamp walk for a page of everything).
 * - Without search, each shape is prepared once per connection and its generic plan is kept
 *   (this route's sessions run with plan_cache_mode=force_generic_plan): those plans walk an
 *   index in timestamp order whatever the window. Planning for the values on every call cost
 *   0.35-0.9 ms a request, as much as running the statement, and plan_cache_mode=auto keeps
 *   doing so (the generic plan's estimate is the higher). EXPLAIN at 50k and 1M rows with
 *   windows of 1 hour, 24 hours and 30 days gave the same plans and times either way.
 * - With search, the best plan depends on the pattern (the trigram index for a rare phrase,
 *   the timestamp walk for a frequent word; a generic plan took 0.5 s for "timeout"), so the
 *   statement is planned for its values on every call (db_query_custom).
 * The counts come from log_tally(), whose own plan is cached. Parameters are numbered in the
 * order they are added. */
#define SQL_MAX_PARAMS 12

typedef struct statement {
    text_buf_t sql;
    const char *values[SQL_MAX_PARAMS];
    int nparams;
} statement_t;

/* Adds a parameter and returns its number for the SQL text. */
static int sql_param(statement_t *st, const char *value)
{
    if (st->nparams == SQL_MAX_PARAMS) /* no statement built here has this many */
        abort();
    st->values[st->nparams] = value;
    return ++st->nparams;
}

/* What a GET asks for, validated. */
typedef struct query {
    const char *level;   /* NULL: any */
    const char *source;  /* NULL: any */
    bool anomalies;      /* filter=anomaly */
    const char *pattern; /* ILIKE pattern, NULL: no search */
    const char *micros;  /* keyset position, NULL: none */
    const char *id;
    long limit_rows, offset_rows;
    char from[40], to[40], limit[16], offset[24];
} query_t;

/* The anomaly predicate, spelled like the partial index log_entries_alert_timestamp_idx. */
#define ALERT_PREDICATE "(%c.is_anomaly OR %c.level IN ('ERROR', 'FATAL'))"

/* Conditions on alias a (e: log_entries, c: log_tally) for the filters other than search;
 * $1 and $2 are the window. */
static void add_filters(statement_t *st, const query_t *q, char a, int level_p, int source_p)
{
    if (q->level != NULL) {
        text_buf_printf(&st->sql, " AND %c.level = $%d::log_level", a, level_p);
        /* Lets a generic plan use the partial index: implied by the level, so it changes
         * nothing in the result. */
        if (strcmp(q->level, "ERROR") == 0 || strcmp(q->level, "FATAL") == 0)
            text_buf_printf(&st->sql, " AND " ALERT_PREDICATE, a, a);
    }
    if (q->source != NULL)
        text_buf_printf(&st->sql, " AND %c.source_type = $%d::source_type", a, source_p);
    if (q->anomalies)
        text_buf_printf(&st->sql, " AND " ALERT_PREDICATE, a, a);
}

/* The summary's columns, in enum col order: the total, the count of each level, and whether
 * the count stopped at the cap. `where` prefixes the level column (alias and conditions). */
#define LEVEL_COUNT(agg, where, level) " coalesce(" agg " FILTER (WHERE " where "level = '" level "'), 0),"
#define LEVEL_COUNTS(agg, where)                                                                   \
    LEVEL_COUNT(agg, where, "ERROR")                                                               \
    LEVEL_COUNT(agg, where, "WARN")                                                                \
    LEVEL_COUNT(agg, where, "INFO")                                                                \
    LEVEL_COUNT(agg, where, "DEBUG")                                                               \
    LEVEL_COUNT(agg, where, "FATAL")
#define CAP STR(SEARCH_COUNT_CAP)
#define EXACT_COUNTS "coalesce(sum(c.n), 0)," LEVEL_COUNTS("sum(c.n)", "c.") " false"
#define CAPPED_COUNTS                                                                              \
    "count(*) FILTER (WHERE m.rn <= " CAP ")," LEVEL_COUNTS("count(*)", "m.rn <= " CAP " AND m.")  \
    " count(*) > " CAP

/* Columns of the result: the counts (the same on every row), then one page row per row;
 * with an empty page, one row whose page columns are NULL. */
enum col {
    C_TOTAL,
    C_ERROR,
    C_WARN,
    C_INFO,
    C_DEBUG,
    C_FATAL,
    C_MORE,
    C_ID,
    C_MICROS,
    C_LEVEL,
    C_MESSAGE,
    C_SOURCE,
    C_RESPONSE_TIME,
    C_HOST,
    C_SERVICE,
    C_CATEGORY,
    C_TAGS,
    C_ANOMALY,
    C_SESSION,
    C_IP,
    C_COUNT
};

#define PAGE_COLUMNS                                                                               \
    "e.id, e.\"timestamp\", e.level, e.message, e.source_type, e.response_time_ms, e.host,"        \
    " e.service, e.category, e.tags, e.is_anomaly, e.session_id, e.ip_address"
#define NEWEST_FIRST "e.\"timestamp\" DESC, e.id DESC"

/* The rows of the filtered set: log_entries e over the window, with every filter. */
static void add_filtered_rows(statement_t *st, const query_t *q, int level_p, int source_p,
                              int pattern_p)
{
    text_buf_printf(&st->sql, " FROM log_entries e WHERE e.\"timestamp\" >= $1::timestamptz"
                              " AND e.\"timestamp\" < $2::timestamptz");
    add_filters(st, q, 'e', level_p, source_p);
    if (pattern_p > 0)
        text_buf_printf(&st->sql, " AND e.message ILIKE $%d::text", pattern_p);
}

/* Counting rule (see the top of this file): without search, exact counts from log_tally();
 * with search, the newest SEARCH_COUNT_CAP matches counted, one more telling the cap was hit.
 * A search page that lies within those matches is cut from them rather than found by a
 * second walk over the table (the walk, not the counting, is what a search costs). */
static void build_list_statement(statement_t *st, const query_t *q)
{
    int level_p, source_p, pattern_p = 0, limit_p, offset_p;
    bool page_in_matches = q->pattern != NULL && q->micros == NULL &&
                           q->offset_rows + q->limit_rows <= SEARCH_COUNT_CAP;

    st->nparams = 0;
    sql_param(st, q->from);
    sql_param(st, q->to);
    level_p = q->level != NULL ? sql_param(st, q->level) : 0;
    source_p = q->source != NULL ? sql_param(st, q->source) : 0;
    if (q->pattern != NULL)
        pattern_p = sql_param(st, q->pattern);

    if (q->pattern == NULL) {
        text_buf_printf(&st->sql, "WITH counts AS (SELECT " EXACT_COUNTS
                                  " FROM log_tally($1::timestamptz, $2::timestamptz) c WHERE true");
        add_filters(st, q, 'c', level_p, source_p);
        text_buf_printf(&st->sql, "),");
    } else {
        text_buf_printf(&st->sql,
                        "WITH matches AS (SELECT %s, row_number() OVER (ORDER BY " NEWEST_FIRST
                        ") AS rn",
                        page_in_matches ? PAGE_COLUMNS : "e.level");
        add_filtered_rows(st, q, level_p, source_p, pattern_p);
        text_buf_printf(&st->sql, " ORDER BY " NEWEST_FIRST " LIMIT " CAP " + 1),"
                                  " counts AS (SELECT " CAPPED_COUNTS " FROM matches m),");
    }

    /* One page plus one row (to know whether another page follows). */
    limit_p = sql_param(st, q->limit);
    offset_p = sql_param(st, q->offset);
    if (page_in_matches) {
        text_buf_printf(&st->sql,
                        " page AS (SELECT e.* FROM matches e WHERE e.rn > $%d::integer"
                        " ORDER BY e.rn LIMIT $%d::integer + 1)",
                        offset_p, limit_p);
    } else {
        text_buf_printf(&st->sql, " page AS (SELECT " PAGE_COLUMNS);
        add_filtered_rows(st, q, level_p, source_p, pattern_p);
        if (q->micros != NULL) {
            int us_p = sql_param(st, q->micros);
            text_buf_printf(&st->sql,
                            " AND (e.\"timestamp\", e.id) < ('epoch'::timestamptz"
                            " + $%d::bigint * interval '1 microsecond', $%d::integer)",
                            us_p, sql_param(st, q->id));
        }
        text_buf_printf(&st->sql,
                        " ORDER BY " NEWEST_FIRST " LIMIT $%d::integer + 1"
                        " OFFSET $%d::integer)",
                        limit_p, offset_p);
    }
    text_buf_printf(&st->sql,
                    " SELECT k.*, p.id, (extract(epoch FROM p.\"timestamp\") * 1000000)::bigint,"
                    " p.level, p.message, p.source_type, p.response_time_ms, p.host, p.service,"
                    " p.category, p.tags, p.is_anomaly, p.session_id, host(p.ip_address)"
                    " FROM counts k LEFT JOIN page p ON true"
                    " ORDER BY p.\"timestamp\" DESC, p.id DESC");
}

/* Text of a column, or NULL for SQL NULL. */
static const char *cell(const PGresult *r, int row, enum col c)
{
    return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

/* name must be a string constant: the object keeps the pointer (a page has 650 of them). */
static void add_text(cJSON *obj, const char *name, const char *text)
{
    cJSON_AddItemToObjectCS(obj, name,
                            text != NULL ? cJSON_CreateString(text) : cJSON_CreateNull());
}

/* One page row as the API's log object. Numbers and tags go out as the server wrote them. */
static cJSON *log_entry_json(const PGresult *r, int row)
{
    cJSON *entry = cJSON_CreateObject();
    const char *rt = cell(r, row, C_RESPONSE_TIME);
    long long us = strtoll(PQgetvalue(r, row, C_MICROS), NULL, 10);

    add_text(entry, "id", cell(r, row, C_ID));
    json_add_time(entry, "timestamp", us / 1000 - (us % 1000 < 0));
    add_text(entry, "level", cell(r, row, C_LEVEL));
    add_text(entry, "message", cell(r, row, C_MESSAGE));
    add_text(entry, "source", cell(r, row, C_SOURCE));
    cJSON_AddItemToObjectCS(entry, "responseTime",
                            rt != NULL ? cJSON_CreateRaw(rt) : cJSON_CreateNull());
    add_text(entry, "host", cell(r, row, C_HOST));
    add_text(entry, "service", cell(r, row, C_SERVICE));
    add_text(entry, "category", cell(r, row, C_CATEGORY));
    cJSON_AddItemToObjectCS(entry, "tags", cJSON_CreateRaw(PQgetvalue(r, row, C_TAGS)));
    cJSON_AddItemToObjectCS(entry, "isAnomaly",
                            cJSON_CreateBool(PQgetvalue(r, row, C_ANOMALY)[0] == 't'));
    add_text(entry, "sessionId", cell(r, row, C_SESSION));
    add_text(entry, "ipAddress", cell(r, row, C_IP));
    return entry;
}

static const char *const level_names[] = {"DEBUG", "INFO",    "WARN", "ERROR",
                                          "FATAL", "WARNING", NULL};
static const char *const source_names[] = {"splunk", "sap", "application", NULL};
static const char *const range_names[] = {"1h", "6h", "24h", "7d", "30d", "custom", NULL};
static const long long range_ms[] = {3600000LL, 6 * 3600000LL, 24 * 3600000LL, 7 * 24 * 3600000LL,
                                     30 * 24 * 3600000LL};
#define RANGE_DEFAULT 2
#define RANGE_CUSTOM 5

/* "%" + text with %, _ and \ escaped (ILIKE's default escape is \) + "%". */
static void like_pattern(const char *text, char *out, size_t outlen)
{
    size_t o = 0;

    out[o++] = '%';
    for (; *text != '\0' && o + 3 < outlen; text++) {
        if (*text == '%' || *text == '_' || *text == '\\')
            out[o++] = '\\';
        out[o++] = *text;
    }
    out[o++] = '%';
    out[o] = '\0';
}

/* A cursor is base64url of "<epoch microseconds>:<id>", exactly as next_cursor made it. */
static int parse_cursor(const char *text, char *micros, size_t micros_len, char *id, size_t id_len)
{
    unsigned char *raw = NULL;
    size_t raw_len;
    char *colon, *end, canonical[48];
    long long us = 0, row_id = 0;
    bool ok;

    if (strlen(text) > CURSOR_MAX_CHARS || b64_url_decode(text, strlen(text), &raw, &raw_len) != 0)
        return -1;
    colon = strchr((char *)raw, ':');
    ok = strlen((char *)raw) == raw_len && colon != NULL;
    if (ok) {
        errno = 0;
        us = strtoll((char *)raw, &end, 10);
        ok = errno == 0 && end == colon;
        row_id = strtoll(colon + 1, &end, 10);
        ok = ok && errno == 0 && *end == '\0' && row_id >= 1 && row_id <= 2147483647LL;
    }
    if (ok) {
        /* Re-printing must give the same text: no signs, spaces or leading zeros. */
        snprintf(canonical, sizeof canonical, "%lld:%lld", us, row_id);
        ok = strcmp(canonical, (char *)raw) == 0;
    }
    free(raw);
    if (!ok)
        return -1;
    snprintf(micros, micros_len, "%lld", us);
    snprintf(id, id_len, "%lld", row_id);
    return 0;
}

/* Reads from/to for timeRange=custom (both required), or refuses them otherwise. */
static int read_window(const http_request_t *req, http_response_t *res, int64_t *from_ms,
                       int64_t *to_ms)
{
    static const char *const names[] = {"from", "to"};
    int range = http_param_enum(req, res, "timeRange", range_names, RANGE_DEFAULT);

    if (range < 0)
        return -1;
    if (range != RANGE_CUSTOM) {
        for (int i = 0; i < 2; i++) {
            if (http_param(req, names[i]) != NULL)
                return http_error(res, 400, "INVALID_PARAMETER",
                                  "from and to are only allowed with timeRange=custom.", names[i]);
        }
        *to_ms = time_now_ms();
        *from_ms = *to_ms - range_ms[range];
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        const char *text = http_param(req, names[i]);
        if (text == NULL)
            return http_error(res, 400, "INVALID_PARAMETER",
                              "timeRange=custom needs both from and to.", names[i]);
        if (time_parse_rfc3339(text, i == 0 ? from_ms : to_ms) != 0)
            return http_error(res, 400, "INVALID_PARAMETER",
                              "from and to must be RFC 3339 timestamps, e.g. "
                              "2025-10-18T15:04:05Z.",
                              names[i]);
    }
    if (*from_ms >= *to_ms)
        return http_error(res, 400, "INVALID_PARAMETER", "from must be earlier than to.", "from");
    return 0;
}

static int get_logs(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {"search", "level", "source",   "timeRange", "from", "to",
                                          "filter", "page",  "pageSize", "cursor",    NULL};
    static const char *const filters[] = {"anomaly", NULL};
    const char *search = http_param(req, "search"), *cursor = http_param(req, "cursor");
    char pattern[2 * SEARCH_MAX_BYTES + 3], micros[24], id[16];
    int level, source, rows, n;
    long page, page_size;
    int64_t from_ms = 0, to_ms = 0;
    double total;
    query_t q = {0};
    statement_t st = {0};
    PGresult *r;
    cJSON *body, *data, *logs, *summary, *pagination;

    if (http_allow_params(req, res, allowed) != 0 ||
        (level = http_param_enum(req, res, "level", level_names, -2)) == -1 ||
        (source = http_param_enum(req, res, "source", source_names, -2)) == -1 ||
        (http_param(req, "filter") != NULL &&
         http_param_enum(req, res, "filter", filters, 0) < 0) ||
        read_window(req, res, &from_ms, &to_ms) != 0 ||
        http_param_int(req, res, "page", 1, 1, PAGE_MAX, &page) != 0 ||
        http_param_int(req, res, "pageSize", PAGE_SIZE_DEFAULT, 1, PAGE_SIZE_MAX, &page_size) != 0)
        return -1;
    if (search != NULL && strlen(search) > SEARCH_MAX_BYTES)
        return http_error(res, 400, "INVALID_PARAMETER",
                          "search must be at most " STR(SEARCH_MAX_BYTES) " bytes.", "search");
    if (cursor != NULL && page != 1)
        return http_error(res, 400, "INVALID_PARAMETER",
                          "A cursor continues from its own position; page must be 1 with it.",
                          "cursor");
    if (cursor != NULL && parse_cursor(cursor, micros, sizeof micros, id, sizeof id) != 0)
        return http_error(res, 400, "INVALID_PARAMETER",
                          "cursor is not a next_cursor this route returned.", "cursor");
    if (search != NULL && *search != '\0') {
        like_pattern(search, pattern, sizeof pattern);
        q.pattern = pattern;
    }
    q.level = level >= 0 ? level_names[level == 5 ? 2 : level] : NULL;
    q.source = source >= 0 ? source_names[source] : NULL;
    q.anomalies = http_param(req, "filter") != NULL;
    q.micros = cursor != NULL ? micros : NULL;
    q.id = cursor != NULL ? id : NULL;
    time_format_rfc3339(from_ms, q.from, sizeof q.from);
    time_format_rfc3339(to_ms, q.to, sizeof q.to);
    q.limit_rows = page_size;
    q.offset_rows = (page - 1) * page_size;
    snprintf(q.limit, sizeof q.limit, "%ld", q.limit_rows);
    snprintf(q.offset, sizeof q.offset, "%ld", q.offset_rows);

    build_list_statement(&st, &q);
    if (st.sql.failed) {
        text_buf_free(&st.sql);
        return http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
    }
    r = q.pattern != NULL ? db_query_custom(req, res, st.sql.data, st.nparams, st.values)
                          : db_query(req, res, st.sql.data, st.nparams, st.values);
    text_buf_free(&st.sql);
    if (r == NULL)
        return -1;
    rows = PQntuples(r);
    if (rows < 1 || PQnfields(r) != C_COUNT) {
        PQclear(r);
        return http_error(res, 500, "INTERNAL_ERROR", "The database returned an unexpected result.",
                          NULL);
    }

    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    logs = cJSON_AddArrayToObject(data, "logs");
    n = 0;
    for (int i = 0; i < rows && n < page_size; i++) {
        if (!PQgetisnull(r, i, C_ID)) {
            cJSON_AddItemToArray(logs, log_entry_json(r, i));
            n++;
        }
    }
    total = strtod(PQgetvalue(r, 0, C_TOTAL), NULL);
    summary = cJSON_AddObjectToObject(data, "summary");
    cJSON_AddRawToObject(summary, "total_logs", PQgetvalue(r, 0, C_TOTAL));
    cJSON_AddRawToObject(summary, "error_count", PQgetvalue(r, 0, C_ERROR));
    cJSON_AddRawToObject(summary, "warning_count", PQgetvalue(r, 0, C_WARN));
    cJSON_AddRawToObject(summary, "warn_count", PQgetvalue(r, 0, C_WARN));
    cJSON_AddRawToObject(summary, "info_count", PQgetvalue(r, 0, C_INFO));
    cJSON_AddRawToObject(summary, "debug_count", PQgetvalue(r, 0, C_DEBUG));
    cJSON_AddRawToObject(summary, "fatal_count", PQgetvalue(r, 0, C_FATAL));

    pagination = cJSON_AddObjectToObject(data, "pagination");
    cJSON_AddNumberToObject(pagination, "page", (double)page);
    cJSON_AddNumberToObject(pagination, "page_size", (double)page_size);
    cJSON_AddRawToObject(pagination, "total_count", PQgetvalue(r, 0, C_TOTAL));
    cJSON_AddNumberToObject(pagination, "total_pages", ceil(total / (double)page_size));
    /* One row past the page: the cursor is the page's last row. */
    if (rows > page_size && !PQgetisnull(r, page_size, C_ID)) {
        char key[48], *encoded;
        snprintf(key, sizeof key, "%s:%s", PQgetvalue(r, page_size - 1, C_MICROS),
                 PQgetvalue(r, page_size - 1, C_ID));
        encoded = b64_url_encode((const unsigned char *)key, strlen(key));
        if (encoded == NULL) {
            PQclear(r);
            return http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
        }
        cJSON_AddStringToObject(pagination, "next_cursor", encoded);
        free(encoded);
    } else {
        cJSON_AddNullToObject(pagination, "next_cursor");
    }
    cJSON_AddBoolToObject(pagination, "total_is_estimate", PQgetvalue(r, 0, C_MORE)[0] == 't');
    cJSON_AddStringToObject(body, "dataSource", "database");
    PQclear(r);
    return 0;
}


/* ---- POST --------------------------------------------------------------------------------- */

enum kind {
    K_STRING,        /* text within [min_chars, max_chars] characters (0: no maximum) */
    K_TIMESTAMP,     /* RFC 3339 with a zone */
    K_LEVEL,         /* DEBUG INFO WARN ERROR FATAL (any case; WARNING means WARN) */
    K_SOURCE,        /* splunk sap application (any case) */
    K_TAGS,          /* array of strings */
    K_OBJECT,        /* JSON object */
    K_UUID,          /* 8-4-4-4-12 hex digits */
    K_INET,          /* an IPv4 or IPv6 address */
    K_HTTP_STATUS,   /* whole number 100..599 */
    K_RESPONSE_TIME, /* number, numeric(10,2), not negative */
    K_AMOUNT,        /* number, numeric(15,2) */
    K_CURRENCY,      /* 3 ASCII letters */
    K_BOOL,
};

typedef struct column {
    const char *name;
    enum kind kind;
    unsigned short min_chars;
    unsigned short max_chars;
    bool required;
} column_t;

/* Every writable column of log_entries (id, created_at and updated_at are the server's). */
static const column_t columns[] = {
    {"log_id", K_STRING, 1, 255, false},
    {"timestamp", K_TIMESTAMP, 0, 0, true},
    {"level", K_LEVEL, 0, 0, true},
    {"message", K_STRING, 1, 0, true},
    {"source_type", K_SOURCE, 0, 0, true},
    {"host", K_STRING, 0, 255, false},
    {"service", K_STRING, 0, 255, false},
    {"category", K_STRING, 0, 100, false},
    {"tags", K_TAGS, 0, 0, false},
    {"raw_log", K_STRING, 0, 0, false},
    {"structured_data", K_OBJECT, 0, 0, false},
    {"request_id", K_UUID, 0, 0, false},
    {"session_id", K_STRING, 0, 255, false},
    {"correlation_id", K_STRING, 0, 255, false},
    {"ip_address", K_INET, 0, 0, false},
    {"application_type", K_STRING, 0, 100, false},
    {"framework", K_STRING, 0, 100, false},
    {"http_method", K_STRING, 0, 10, false},
    {"http_status", K_HTTP_STATUS, 0, 0, false},
    {"endpoint", K_STRING, 0, 500, false},
    {"response_time_ms", K_RESPONSE_TIME, 0, 0, false},
    {"transaction_code", K_STRING, 0, 20, false},
    {"sap_system", K_STRING, 0, 100, false},
    {"department", K_STRING, 0, 100, false},
    {"amount", K_AMOUNT, 0, 0, false},
    {"currency", K_CURRENCY, 0, 0, false},
    {"document_number", K_STRING, 0, 50, false},
    {"splunk_source", K_STRING, 0, 255, false},
    {"splunk_host", K_STRING, 0, 255, false},
    {"is_anomaly", K_BOOL, 0, 0, false},
    {"anomaly_type", K_STRING, 0, 100, false},
    {"error_details", K_OBJECT, 0, 0, false},
    {"performance_metrics", K_OBJECT, 0, 0, false},
    {"business_context", K_OBJECT, 0, 0, false},
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* The batch goes to the server as one JSON array; each element becomes a row. Text is
 * normalised here (level upper case with WARNING as WARN, source lower case, currency upper
 * case, tags [] and is_anomaly false when absent); everything else was checked to fit its
 * column already. Missing log_ids get "log-" + 12 random hex digits. Rows go in in log_id
 * order (the first of a repeated log_id wins), so concurrent batches sharing log_ids take
 * their unique-index locks in one order and cannot deadlock. The result says how
 * many entries there were, how many rows went in, and whether a generated log_id failed to
 * go in (it met an existing one, or another entry's): then the caller rolls back and tries
 * again with new ones, so a generated id is never mistaken for a duplicate. */
static const char sql_ingest[] =
    "WITH src AS (SELECT x.*, x.log_id IS NULL AS generated,"
    " coalesce(x.log_id, 'log-' || left(replace(gen_random_uuid()::text, '-', ''), 12))"
    " AS final_id"
    " FROM ROWS FROM (json_to_recordset($1::json) AS (log_id text, \"timestamp\" timestamptz,"
    " level text,"
    " message text, source_type text, host text, service text, category text, tags jsonb,"
    " raw_log text, structured_data jsonb, request_id uuid, session_id text,"
    " correlation_id text, ip_address inet, application_type text, framework text,"
    " http_method text, http_status numeric, endpoint text, response_time_ms numeric,"
    " transaction_code text, sap_system text, department text, amount numeric,"
    " currency text, document_number text, splunk_source text, splunk_host text,"
    " is_anomaly boolean, anomaly_type text, error_details jsonb,"
    " performance_metrics jsonb, business_context jsonb)) WITH ORDINALITY AS x),"
    " ins AS (INSERT INTO log_entries (log_id, \"timestamp\", level, message, source_type,"
    " host, service, category, tags, raw_log, structured_data, request_id, session_id,"
    " correlation_id, ip_address, application_type, framework, http_method, http_status,"
    " endpoint, response_time_ms, transaction_code, sap_system, department, amount,"
    " currency, document_number, splunk_source, splunk_host, is_anomaly, anomaly_type,"
    " error_details, performance_metrics, business_context)"
    " SELECT s.final_id, s.\"timestamp\","
    " (CASE upper(s.level) WHEN 'WARNING' THEN 'WARN' ELSE upper(s.level) END)::log_level,"
    " s.message, lower(s.source_type)::source_type, s.host, s.service, s.category,"
    " coalesce(s.tags, '[]'::jsonb), s.raw_log, s.structured_data, s.request_id,"
    " s.session_id, s.correlation_id, s.ip_address, s.application_type, s.framework,"
    " s.http_method, s.http_status::integer, s.endpoint, s.response_time_ms,"
    " s.transaction_code, s.sap_system, s.department, s.amount, upper(s.currency),"
    " s.document_number, s.splunk_source, s.splunk_host, coalesce(s.is_anomaly, false),"
    " s.anomaly_type, s.error_details, s.performance_metrics, s.business_context"
    " FROM src s ORDER BY s.final_id, s.ordinality"
    " ON CONFLICT (log_id) DO NOTHING RETURNING log_id)"
    " SELECT json_build_object('entries', (SELECT count(*) FROM src),"
    " 'inserted', (SELECT count(*) FROM ins),"
    " 'id_clash', (SELECT count(*) FROM src g JOIN ins i ON i.log_id = g.final_id"
    " WHERE g.generated) <> (SELECT count(*) FROM src g WHERE g.generated)"
    " OR EXISTS (SELECT 1 FROM src g GROUP BY g.final_id"
    " HAVING count(*) > 1 AND bool_or(g.generated)))";

typedef struct errors {
    cJSON *list;
    int count;
} errors_t;

/* Records one problem; line is the NDJSON line number, 0 for a JSON array. */
static void add_error(errors_t *errs, int index, int line, const char *field, const char *message)
{
    cJSON *e;

    if (errs->count++ >= INGEST_MAX_ERRORS)
        return;
    e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "index", index);
    if (line > 0)
        cJSON_AddNumberToObject(e, "line", line);
    if (field != NULL && strlen(field) <= FIELD_NAME_MAX_BYTES)
        cJSON_AddStringToObject(e, "field", field);
    else
        cJSON_AddNullToObject(e, "field");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddItemToArray(errs->list, e);
}

static bool is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return s[36] == '\0';
}

static bool is_ip_address(const char *s)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* PostgreSQL refuses zone offsets past 15:59, which RFC 3339 syntax allows. s is a
 * timestamp time_parse_rfc3339 accepted: it ends in Z or in +hh:mm / -hh:mm. */
static bool zone_in_range(const char *s)
{
    size_t n = strlen(s);
    return s[n - 1] == 'Z' || s[n - 1] == 'z' || (s[n - 5] - '0') * 10 + (s[n - 4] - '0') <= 15;
}

static bool in_list(const char *s, const char *const *names)
{
    for (; *names != NULL; names++) {
        if (strcasecmp(s, *names) == 0)
            return true;
    }
    return false;
}

/* Checks one present value against its column; returns NULL or writes why into msg. */
static const char *check_value(const column_t *col, const cJSON *v, char *msg, size_t msglen)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    size_t chars;

    if (cJSON_IsNull(v))
        return col->required ? "is required and may not be null." : NULL;
    switch (col->kind) {
    case K_STRING:
        if (s == NULL)
            return "must be a string.";
        chars = ingest_utf8_chars(s);
        if (chars < col->min_chars)
            return "must not be empty.";
        if (col->max_chars > 0 && chars > col->max_chars) {
            snprintf(msg, msglen, "must be at most %u characters long.", col->max_chars);
            return msg;
        }
        return NULL;
    case K_TIMESTAMP: {
        int64_t ms;
        return s != NULL && time_parse_rfc3339(s, &ms) == 0 && zone_in_range(s)
                   ? NULL
                   : "must be an RFC 3339 timestamp with a zone offset up to 15:59, "
                     "e.g. 2025-10-18T15:04:05.123Z.";
    }
    case K_LEVEL:
        return s != NULL && in_list(s, level_names)
                   ? NULL
                   : "must be one of DEBUG, INFO, WARN (or WARNING), ERROR, FATAL.";
    case K_SOURCE:
        return s != NULL && in_list(s, source_names) ? NULL
                                                     : "must be one of splunk, sap, application.";
    case K_TAGS: {
        const cJSON *tag;
        if (!cJSON_IsArray(v))
            return "must be an array of strings.";
        cJSON_ArrayForEach(tag, v)
        {
            if (!cJSON_IsString(tag))
                return "must be an array of strings.";
        }
        return NULL;
    }
    case K_OBJECT:
        return cJSON_IsObject(v) ? NULL : "must be a JSON object.";
    case K_UUID:
        return s != NULL && is_uuid(s) ? NULL : "must be a UUID (8-4-4-4-12 hex digits).";
    case K_INET:
        return s != NULL && is_ip_address(s) ? NULL : "must be an IPv4 or IPv6 address.";
    case K_HTTP_STATUS:
        return d >= 100 && d <= 599 && d == floor(d) ? NULL
                                                     : "must be a whole number from 100 to 599.";
    case K_RESPONSE_TIME:
        /* numeric(10,2): the bound keeps rounding to cents from overflowing. */
        return d >= 0 && d <= 99999999.99 ? NULL : "must be a number from 0 to 99999999.99.";
    case K_AMOUNT:
        return fabs(d) <= 9999999999999.99
                   ? NULL
                   : "must be a number from -9999999999999.99 to 9999999999999.99.";
    case K_CURRENCY:
        return s != NULL && strlen(s) == 3 &&
                       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz") == 3
                   ? NULL
                   : "must be a 3-letter currency code.";
    case K_BOOL:
        return cJSON_IsBool(v) ? NULL : "must be true or false.";
    }
    return "has an unknown type.";
}

static void validate_entry(const cJSON *entry, int index, int line, errors_t *errs)
{
    bool seen[NCOLUMNS] = {false};
    char msg[96], full[160];
    const cJSON *f;

    if (!cJSON_IsObject(entry)) {
        add_error(errs, index, line, NULL, "An entry must be a JSON object.");
        return;
    }
    for (f = entry->child; f != NULL; f = f->next) {
        size_t c = 0;
        const char *why;
        while (c < NCOLUMNS && strcmp(columns[c].name, f->string) != 0)
            c++;
        if (c == NCOLUMNS) {
            add_error(errs, index, line, f->string, "Unknown field.");
            continue;
        }
        if (seen[c]) {
            add_error(errs, index, line, f->string, "The field is given twice.");
            continue;
        }
        seen[c] = true;
        if ((why = check_value(&columns[c], f, msg, sizeof msg)) != NULL) {
            snprintf(full, sizeof full, "%s %s", columns[c].name, why);
            add_error(errs, index, line, columns[c].name, full);
        }
    }
    for (size_t c = 0; c < NCOLUMNS; c++) {
        if (columns[c].required && !seen[c]) {
            snprintf(full, sizeof full, "%s is required.", columns[c].name);
            add_error(errs, index, line, columns[c].name, full);
        }
    }
}

static bool is_ndjson(const char *content_type)
{
    static const char ndjson[] = "application/x-ndjson";
    size_t n = sizeof ndjson - 1;
    return content_type != NULL && strncasecmp(content_type, ndjson, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

static int too_many_entries(http_response_t *res)
{
    return http_error(res, 413, "PAYLOAD_TOO_LARGE",
                      "A batch may hold at most " STR(INGEST_MAX_ENTRIES) " entries.", NULL);
}

static int invalid_json(http_response_t *res, const char *why, size_t offset)
{
    char msg[160];
    snprintf(msg, sizeof msg, "The body is not valid JSON: %s at byte %zu.", why, offset);
    return http_error(res, 400, "INVALID_JSON", msg, NULL);
}

/* The next line of [*p, end) without its line break and trailing blanks; advances *p. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
    const char *stop = nl != NULL ? nl : end;

    *p = nl != NULL ? nl + 1 : end;
    while (stop > line && (stop[-1] == '\r' || stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
    *len = (size_t)(stop - line);
    return line;
}

static bool is_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
            return false;
    }
    return true;
}

/* NDJSON: one value per line, blank lines skipped. The lines (checked JSON) are joined into
 * one array text for the server in *array; *lines maps each entry to its line number.
 * Returns the entries, or NULL with res set. */
static cJSON *split_ndjson(http_request_t *req, http_response_t *res, char **array, int **lines,
                           errors_t *errs)
{
    const char *end = req->body + req->body_len, *p = req->body, *text;
    int count = 0, line = 0;
    size_t len;
    char *out;
    cJSON *entries;

    while (p < end) {
        text = next_line(&p, end, &len);
        if (!is_blank(text, len) && ++count > INGEST_MAX_ENTRIES) {
            too_many_entries(res);
            return NULL;
        }
    }
    if (count == 0) {
        http_error(res, 400, "INVALID_JSON", "The batch has no entries.", NULL);
        return NULL;
    }
    entries = cJSON_CreateArray();
    *lines = calloc((size_t)count, sizeof **lines);
    *array = out = malloc(req->body_len + 3);
    if (entries == NULL || *lines == NULL || out == NULL) {
        cJSON_Delete(entries);
        http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
        return NULL;
    }
    *out++ = '[';
    count = 0;
    for (p = req->body; p < end;) {
        size_t offset = 0;
        const char *why = NULL;
        cJSON *entry = NULL;

        text = next_line(&p, end, &len);
        line++;
        if (is_blank(text, len))
            continue;
        if (ingest_json_check(text, len, &offset, &why) == 0 &&
            (entry = cJSON_ParseWithLength(text, len)) != NULL) {
            if (count > 0)
                *out++ = ',';
            memcpy(out, text, len);
            out += len;
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "Not valid JSON: %s at byte %zu of the line.",
                     entry == NULL && why == NULL ? "too deeply nested" : why, offset);
            add_error(errs, count, line, NULL, msg);
            entry = cJSON_CreateNull();
        }
        cJSON_AddItemToArray(entries, entry);
        (*lines)[count++] = line;
    }
    *out++ = ']';
    *out = '\0';
    if (errs->count > 0) {
        http_error(res, 400, "INVALID_JSON",
                   "Some lines of the NDJSON body are not valid JSON; nothing was written.", NULL);
        cJSON_AddNumberToObject(res->body, "error_count", errs->count);
        cJSON_AddItemToObject(res->body, "errors", errs->list);
        errs->list = NULL;
        cJSON_Delete(entries);
        return NULL;
    }
    return entries;
}

/* JSON: the body itself is the array the server gets. */
static cJSON *parse_array(http_request_t *req, http_response_t *res)
{
    size_t offset;
    const char *why;
    cJSON *entries;

    if (ingest_json_check(req->body, req->body_len, &offset, &why) != 0) {
        invalid_json(res, why, offset);
        return NULL;
    }
    entries = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsArray(entries)) {
        cJSON_Delete(entries);
        http_error(res, 400, "INVALID_JSON", "The body must be a JSON array of log objects.", NULL);
        return NULL;
    }
    if (cJSON_GetArraySize(entries) > INGEST_MAX_ENTRIES) {
        cJSON_Delete(entries);
        too_many_entries(res);
        return NULL;
    }
    if (cJSON_GetArraySize(entries) == 0) {
        cJSON_Delete(entries);
        http_error(res, 400, "INVALID_JSON", "The batch has no entries.", NULL);
        return NULL;
    }
    return entries;
}

/* Writes the checked batch in one transaction; fills inserted and entries. */
static int insert_batch(http_request_t *req, http_response_t *res, const char *array,
                        double *inserted, double *entries)
{
    const char *values[] = {array};

    for (int attempt = 0; attempt < INGEST_ID_ATTEMPTS; attempt++) {
        PGresult *r;
        cJSON *result;
        const cJSON *clash, *went_in, *given;

        if ((r = db_query(req, res, "BEGIN", 0, NULL)) == NULL)
            return -1;
        PQclear(r);
        if ((result = db_query_json(req, res, sql_ingest, 1, values)) == NULL)
            return -1;
        clash = cJSON_GetObjectItemCaseSensitive(result, "id_clash");
        went_in = cJSON_GetObjectItemCaseSensitive(result, "inserted");
        given = cJSON_GetObjectItemCaseSensitive(result, "entries");
        if (!cJSON_IsBool(clash) || !cJSON_IsNumber(went_in) || !cJSON_IsNumber(given)) {
            cJSON_Delete(result);
            return http_error(res, 500, "INTERNAL_ERROR",
                              "The database returned an unexpected result.", NULL);
        }
        *inserted = went_in->valuedouble;
        *entries = given->valuedouble;
        r = db_query(req, res, cJSON_IsTrue(clash) ? "ROLLBACK" : "COMMIT", 0, NULL);
        cJSON_Delete(result);
        if (r == NULL)
            return -1;
        PQclear(r);
        if (!cJSON_IsTrue(clash))
            return 0;
        log_warn("a generated log_id clashed with an existing one; retrying the batch");
    }
    return http_error(res, 500, "INTERNAL_ERROR", "Could not generate unique log ids.", NULL);
}

static int post_logs(http_request_t *req, http_response_t *res)
{
    errors_t errs = {.list = cJSON_CreateArray(), .count = 0};
    char *array = NULL;
    int *lines = NULL, index = 0, rc = -1;
    double inserted = 0, total = 0;
    cJSON *entries, *entry, *body;

    if (http_allow_params(req, res, (const char *const[]){NULL}) != 0)
        goto done;
    if (!http_utf8_valid(req->body, req->body_len)) {
        http_error(res, 400, "INVALID_JSON", "The body is not valid UTF-8.", NULL);
        goto done;
    }
    entries = is_ndjson(req->content_type) ? split_ndjson(req, res, &array, &lines, &errs)
                                           : parse_array(req, res);
    if (entries == NULL)
        goto done;
    cJSON_ArrayForEach(entry, entries)
    {
        validate_entry(entry, index, lines != NULL ? lines[index] : 0, &errs);
        index++;
    }
    cJSON_Delete(entries);
    if (errs.count > 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%d problem%s found in the batch; nothing was written.",
                 errs.count, errs.count == 1 ? "" : "s");
        http_error(res, 400, "INVALID_PARAMETER", msg, NULL);
        cJSON_AddNumberToObject(res->body, "error_count", errs.count);
        cJSON_AddItemToObject(res->body, "errors", errs.list);
        errs.list = NULL;
        goto done;
    }
    if (insert_batch(req, res, array != NULL ? array : req->body, &inserted, &total) != 0)
        goto done;
    body = http_ok(res);
    cJSON_AddNumberToObject(body, "inserted", inserted);
    cJSON_AddNumberToObject(body, "duplicates", total - inserted);
    rc = 0;
done:
    cJSON_Delete(errs.list);
    free(array);
    free(lines);
    return rc;
}

static const char *const body_types[] = {"application/json", "application/x-ndjson", NULL};

static const route_t route = {
    .name = "logs",
    .get = get_logs,
    .post = post_logs,
    .get_permission = "read_logs",
    .post_permission = "ingest_logs",
    .body_limit = INGEST_MAX_BYTES,
    .body_types = body_types,
    /* Generic plans, kept per connection; a search is planned on every call (see the GET
     * statement). */
    .db_settings = "-c plan_cache_mode=force_generic_plan",
};

ROUTE_MAIN(route)
