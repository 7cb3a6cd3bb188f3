/* pool.c -- this worker's PostgreSQL connections: lazy, validated, budgeted, counted. */
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "timeutil.h"

#define TRUST_WINDOW_US 1000000      /* used this recently: no check at all */
#define BACKOFF_MIN_US 10000
#define BACKOFF_MAX_US 5000000
#define FAILFAST_MAX_US 500000       /* never refuse without trying for longer than this */
#define CLEANUP_DEADLINE_US 1000000  /* rollback or cancel at release */
#define CLOSE_WAIT_US 100000         /* for the server's end of a closed connection */
#define TOPUP_CONNECT_US 500000      /* a background connect never holds a worker longer */

static struct {
    bool initialized;
    char app_name[64];
    const char *settings;        /* extra "-c name=value" for every session, or NULL */
    worker_slot_t *slot;
    pool_figures_t *fig;
    db_conn_t conns[POOL_HARD_MAX];
    int max;
    int64_t backoff_us;
    int64_t failfast_until_us;
    bool replacing;              /* a broken connection was closed; next connect is a reconnect */
    int64_t next_topup_us;       /* no background connect before this (backoff) */
    char why[256];
    uint64_t rng;
} pool;

#define FIG_ADD(field, n) __atomic_add_fetch(&pool.fig->field, (n), __ATOMIC_RELAXED)

/* xorshift64*: jitter only, never data. */
static double jitter_unit(void)
{
    pool.rng ^= pool.rng >> 12;
    pool.rng ^= pool.rng << 25;
    pool.rng ^= pool.rng >> 27;
    return (double)((pool.rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void update_gauges(void)
{
    int open = 0, in_use = 0;
    for (int i = 0; i < pool.max; i++) {
        if (pool.conns[i].pg != NULL) {
            open++;
            in_use += pool.conns[i].in_use;
        }
    }
    __atomic_store_n(&pool.fig->open, open, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.fig->in_use, in_use, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.fig->idle, open - in_use, __ATOMIC_RELAXED);
}

void pool_init(const char *route, worker_slot_t *slot)
{
    memset(&pool, 0, sizeof pool);
    snprintf(pool.app_name, sizeof pool.app_name, "%s%s/%d", POOL_APP_PREFIX, route,
             (int)getpid());
    pool.slot = slot;
    pool.fig = &slot->pool;
    pool.max = cfg.pool_max < POOL_HARD_MAX ? cfg.pool_max : POOL_HARD_MAX;
    pool.fig->max = pool.max;
    pool.rng = ((uint64_t)getpid() << 32) ^ (uint64_t)time_mono_us() ^ 0x9E3779B97F4A7C15ULL;
    pool.initialized = true;
}

void pool_set_settings(const char *settings)
{
    pool.settings = settings;
}

bool pool_sqlstate_is_fatal(const char *sqlstate)
{
    if (sqlstate == NULL)
        return false;
    return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0 ||
           strcmp(sqlstate, "57P05") == 0 || strcmp(sqlstate, "25006") == 0;
}

void pool_doom(db_conn_t *conn, enum close_reason reason)
{
    if (!conn->doomed) {
        conn->doomed = true;
        conn->doom_reason = reason;
    }
}

/* Sees every notice and every error that arrives while no query runs; a FATAL from the
 * server (terminate, shutdown) dooms the connection before anyone sends a query on it. */
static void notice_receiver(void *arg, const PGresult *res)
{
    db_conn_t *conn = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if ((severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) ||
        pool_sqlstate_is_fatal(sqlstate))
        pool_doom(conn, CLOSE_SERVER_GONE);
    log_debug("server notice: %s", PQresultErrorMessage(res));
}

/* Closes with a clean Terminate and waits (briefly) for the server to close its end: a
 * backend leaves pg_stat_activity before its socket closes, so once EOF is seen the budget
 * slot can go to another worker without the server ever seeing one connection too many. */
static void finish_and_wait(PGconn *pg)
{
    /* The connect-per-request baseline (POOL_REUSE=0) closes the way a naive client does. */
    int fd = PQsocket(pg) >= 0 && cfg.pool_reuse ? dup(PQsocket(pg)) : -1;
    struct pollfd pfd = {fd, POLLIN, 0};
    char buf[256];
    int64_t deadline = time_mono_us() + CLOSE_WAIT_US;

    PQfinish(pg);
    while (fd >= 0) {
        int64_t left = deadline - time_mono_us();
        if (left <= 0 || poll(&pfd, 1, (int)((left + 999) / 1000)) <= 0 ||
            read(fd, buf, sizeof buf) <= 0)
            break;
    }
    if (fd >= 0)
        close(fd);
}

static void conn_close(db_conn_t *conn, enum close_reason reason)
{
    if (conn->pg == NULL)
        return;
    finish_and_wait(conn->pg);
    __atomic_store_n(&pool.slot->backend_pids[conn - pool.conns], 0, __ATOMIC_RELAXED);
    for (int k = 0; k < conn->nprepared; k++)
        free(conn->prepared[k]);
    memset(conn, 0, sizeof *conn);
    budget_give();
    FIG_ADD(closes[reason], 1);
    if (reason == CLOSE_SERVER_GONE || reason == CLOSE_PING_FAILED ||
        reason == CLOSE_FATAL_SQLSTATE || reason == CLOSE_QUERY_DEADLINE ||
        reason == CLOSE_DIRTY)
        pool.replacing = true;
    update_gauges();
    log_debug("closed a connection: %s", close_reason_names[reason]);
}

/* Waits for events on the connection's socket until deadline; 1 ready, 0 timeout, -1 error. */
static int wait_socket(PGconn *pg, short events, int64_t deadline_us, short *revents)
{
    struct pollfd pfd = {PQsocket(pg), events, 0};
    for (;;) {
        int64_t left = deadline_us - time_mono_us();
        int rc;
        if (pfd.fd < 0)
            return -1;
        if (left <= 0)
            return 0;
        rc = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (rc > 0) {
            if (revents != NULL)
                *revents = pfd.revents;
            return 1;
        }
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Classifies a failed connect for the log and the client's message. */
static void describe_connect_failure(const char *libpq_msg, bool timed_out)
{
    const char *what = "the database refused the connection";
    if (timed_out)
        what = "the database did not answer within the deadline";
    else if (strstr(libpq_msg, "too many clients") != NULL ||
             strstr(libpq_msg, "remaining connection slots") != NULL)
        what = "the database is at max_connections";
    else if (strstr(libpq_msg, "starting up") != NULL ||
             strstr(libpq_msg, "shutting down") != NULL ||
             strstr(libpq_msg, "recovery") != NULL)
        what = "the database is starting up or shutting down";
    else if (strstr(libpq_msg, "No such file") != NULL ||
             strstr(libpq_msg, "Connection refused") != NULL)
        what = "the database is not running";
    snprintf(pool.why, sizeof pool.why, "%s", what);
}

/* Opens conn before deadline_us. Returns 0, or -1 with pool.why set. */
static int conn_open(db_conn_t *conn, int64_t deadline_us)
{
    char connect_timeout[16], options[256];
    const char *keys[12], *vals[12];
    int n = 0;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t t0 = time_mono_us(), lifetime_us;
    int64_t own_deadline = t0 + (int64_t)cfg.db_connect_timeout_s * 1000000;
    bool timed_out = false;

    if (own_deadline < deadline_us)
        deadline_us = own_deadline;
    snprintf(connect_timeout, sizeof connect_timeout, "%d", cfg.db_connect_timeout_s);
    snprintf(options, sizeof options, "-c statement_timeout=%d%s%s", cfg.db_statement_timeout_ms,
             pool.settings != NULL ? " " : "", pool.settings != NULL ? pool.settings : "");
    if (cfg.database_url != NULL) {
        keys[n] = "dbname";
        vals[n++] = cfg.database_url;
    }
    keys[n] = "application_name";    vals[n++] = pool.app_name;
    keys[n] = "connect_timeout";     vals[n++] = connect_timeout;
    keys[n] = "options";             vals[n++] = options;
    keys[n] = "keepalives";          vals[n++] = "1";
    keys[n] = "keepalives_idle";     vals[n++] = "30";
    keys[n] = "keepalives_interval"; vals[n++] = "10";
    keys[n] = "keepalives_count";    vals[n++] = "3";
    keys[n] = "tcp_user_timeout";    vals[n++] = "30000";
    keys[n] = NULL;
    vals[n] = NULL;

    memset(conn, 0, sizeof *conn);
    __atomic_store_n(&pool.slot->connecting_since_us, t0, __ATOMIC_RELAXED);
    conn->pg = PQconnectStartParams(keys, vals, 1);
    if (conn->pg == NULL) {
        snprintf(pool.why, sizeof pool.why, "out of memory");
        return -1;
    }
    while (PQstatus(conn->pg) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        int rc = wait_socket(conn->pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                             deadline_us, NULL);
        if (rc <= 0) {
            timed_out = rc == 0;
            break;
        }
        st = PQconnectPoll(conn->pg);
    }
    if (st != PGRES_POLLING_OK || PQstatus(conn->pg) != CONNECTION_OK) {
        __atomic_store_n(&pool.slot->connecting_since_us, 0, __ATOMIC_RELAXED);
        describe_connect_failure(PQerrorMessage(conn->pg), timed_out);
        log_warn("connect failed (%s): %s", pool.why,
                 timed_out ? "deadline passed" : PQerrorMessage(conn->pg));
        PQfinish(conn->pg);
        conn->pg = NULL;
        return -1;
    }
    PQsetNoticeReceiver(conn->pg, notice_receiver, conn);
    /* A backend behind a unix socket runs on this host, where its pid can be checked. */
    __atomic_store_n(&pool.slot->backend_pids[conn - pool.conns],
                     PQhost(conn->pg) != NULL && PQhost(conn->pg)[0] == '/'
                         ? PQbackendPID(conn->pg)
                         : BACKEND_REMOTE,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&pool.slot->connecting_since_us, 0, __ATOMIC_RELEASE);
    PQsetnonblocking(conn->pg, 1);
    conn->created_us = time_mono_us();
    conn->last_used_us = conn->created_us;
    /* Lifetime jitter of +-15 % keeps the fleet from reconnecting all at once. */
    lifetime_us = (int64_t)((double)cfg.pool_max_lifetime_s * 1e6 * (0.85 + 0.3 * jitter_unit()));
    conn->expires_us = conn->created_us + lifetime_us;
    FIG_ADD(connects, 1);
    FIG_ADD(connect_us, (uint64_t)(conn->created_us - t0));
    if (pool.replacing) {
        FIG_ADD(reconnects, 1);
        pool.replacing = false;
    }
    return 0;
}

/* Reads whatever the server sent an idle connection; false when it hung up or said FATAL. */
static bool idle_input_ok(db_conn_t *conn)
{
    struct pollfd pfd = {PQsocket(conn->pg), POLLIN, 0};
    if (pfd.fd < 0)
        return false;
    if (poll(&pfd, 1, 0) > 0) {
        /* PQconsumeInput only buffers; PQisBusy parses, handing an unsolicited FATAL to the
         * notice receiver. The hang-up itself shows on the next read, as EOF. */
        if (!PQconsumeInput(conn->pg) || (PQisBusy(conn->pg), false) ||
            (!conn->doomed && poll(&pfd, 1, 0) > 0 && !PQconsumeInput(conn->pg)) ||
            PQstatus(conn->pg) != CONNECTION_OK)
            pool_doom(conn, CLOSE_SERVER_GONE);
    }
    return !conn->doomed;
}

/* Tiered validation; returns true when conn may serve, else the reason to close it. */
static bool conn_healthy(db_conn_t *conn, int64_t now, int64_t deadline_us,
                         enum close_reason *reason)
{
    int64_t idle = now - conn->last_used_us;

    if (conn->doomed || PQstatus(conn->pg) != CONNECTION_OK) {
        *reason = conn->doomed ? conn->doom_reason : CLOSE_SERVER_GONE;
        return false;
    }
    if (now >= conn->expires_us) {
        *reason = CLOSE_LIFETIME;
        return false;
    }
    if (idle < TRUST_WINDOW_US)
        return true;
    if (!idle_input_ok(conn)) {
        *reason = conn->doom_reason;
        return false;
    }
    if (idle >= (int64_t)cfg.pool_ping_idle_s * 1000000) {
        bool timed_out = false;
        PGresult *r = pool_exec(conn, "", 0, NULL, deadline_us, &timed_out);
        bool ok = r != NULL && PQresultStatus(r) == PGRES_EMPTY_QUERY;
        PQclear(r);
        if (!ok) {
            *reason = CLOSE_PING_FAILED;
            return false;
        }
    }
    return true;
}

static db_conn_t *most_recent_idle(void)
{
    db_conn_t *best = NULL;
    for (int i = 0; i < pool.max; i++) {
        db_conn_t *c = &pool.conns[i];
        if (c->pg != NULL && !c->in_use && (best == NULL || c->last_used_us > best->last_used_us))
            best = c;
    }
    return best;
}

static db_conn_t *free_slot(void)
{
    for (int i = 0; i < pool.max; i++) {
        if (pool.conns[i].pg == NULL)
            return &pool.conns[i];
    }
    return NULL;
}

/* Opens conn on a budget slot the caller has taken; on failure gives the slot back and backs
 * off: requests fail fast for a short window, background top-ups wait the whole backoff. */
static enum pool_error open_taken(db_conn_t *conn, int64_t deadline)
{
    int64_t window;

    /* The slot may have just come back from a killed worker whose backend still exits. */
    if (budget_reap_dead(deadline) != 0) {
        budget_give();
        snprintf(pool.why, sizeof pool.why,
                 "a killed worker's session is still open on the server");
        return POOL_TIMEOUT;
    }
    if (conn_open(conn, deadline) == 0) {
        pool.backoff_us = 0;
        pool.failfast_until_us = 0;
        pool.next_topup_us = 0;
        return POOL_OK;
    }
    budget_give();
    FIG_ADD(connect_failures, 1);
    pool.backoff_us = pool.backoff_us == 0 ? BACKOFF_MIN_US : pool.backoff_us * 2;
    if (pool.backoff_us > BACKOFF_MAX_US)
        pool.backoff_us = BACKOFF_MAX_US;
    window = (int64_t)((double)pool.backoff_us * (0.5 + 0.5 * jitter_unit()));
    pool.failfast_until_us = time_mono_us() + (window < FAILFAST_MAX_US ? window : FAILFAST_MAX_US);
    pool.next_topup_us = time_mono_us() + window;
    return POOL_UNAVAILABLE;
}

db_conn_t *pool_acquire(int timeout_ms, enum pool_error *err, const char **why)
{
    int64_t t0 = time_mono_us(), deadline = t0 + (int64_t)timeout_ms * 1000;
    db_conn_t *conn;
    enum close_reason reason;
    int taken;

    FIG_ADD(acquires, 1);
    *err = POOL_OK;
    *why = pool.why;
    /* Most recently used first: the others age out, and the fresh one is likely trusted. */
    while ((conn = most_recent_idle()) != NULL) {
        if (conn_healthy(conn, t0, deadline, &reason)) {
            conn->in_use = true;
            update_gauges();
            return conn;
        }
        conn_close(conn, reason);
        t0 = time_mono_us();
    }
    conn = free_slot();
    if (conn == NULL) {
        FIG_ADD(acquire_timeouts, 1);
        snprintf(pool.why, sizeof pool.why, "all of this worker's connections are in use");
        *err = POOL_TIMEOUT;
        return NULL;
    }
    if (t0 < pool.failfast_until_us) {
        *err = POOL_UNAVAILABLE;
        return NULL;
    }
    taken = budget_take((int)((deadline - t0) / 1000));
    if (taken < 0) {
        FIG_ADD(acquire_timeouts, 1);
        snprintf(pool.why, sizeof pool.why,
                 "the host-wide connection budget of %d is in use by other workers",
                 budget_limit());
        *err = POOL_TIMEOUT;
        return NULL;
    }
    if (taken == 1) {
        FIG_ADD(waits, 1);
        FIG_ADD(wait_us, (uint64_t)(time_mono_us() - t0));
    }
    *err = open_taken(conn, deadline);
    if (*err != POOL_OK) {
        if (*err == POOL_TIMEOUT)
            FIG_ADD(acquire_timeouts, 1);
        return NULL;
    }
    conn->in_use = true;
    update_gauges();
    return conn;
}

/* Reads and discards results until the connection is idle again, or the deadline passes. */
static bool drain(db_conn_t *conn, int64_t deadline_us)
{
    for (;;) {
        while (!PQisBusy(conn->pg)) {
            PGresult *r = PQgetResult(conn->pg);
            if (r == NULL)
                return PQtransactionStatus(conn->pg) != PQTRANS_ACTIVE;
            PQclear(r);
        }
        if (wait_socket(conn->pg, POLLIN, deadline_us, NULL) <= 0 || !PQconsumeInput(conn->pg))
            return false;
    }
}

static void cancel_running(db_conn_t *conn)
{
    char errbuf[256];
    PGcancel *cancel = PQgetCancel(conn->pg);
    if (cancel != NULL) {
        PQcancel(cancel, errbuf, sizeof errbuf);
        PQfreeCancel(cancel);
    }
    FIG_ADD(cancels, 1);
}

void pool_release(db_conn_t *conn)
{
    int64_t deadline = time_mono_us() + CLEANUP_DEADLINE_US;
    bool timed_out = false;
    PGresult *r;

    if (conn == NULL || conn->pg == NULL)
        return;
    conn->in_use = false;
    if (!conn->doomed) {
        switch (PQtransactionStatus(conn->pg)) {
        case PQTRANS_IDLE:
            break;
        case PQTRANS_ACTIVE:
            cancel_running(conn);
            if (!drain(conn, deadline))
                pool_doom(conn, CLOSE_DIRTY);
            if (conn->doomed || PQtransactionStatus(conn->pg) == PQTRANS_IDLE)
                break;
            /* The cancelled query left a transaction open. */
            __attribute__((fallthrough));
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
            r = pool_exec(conn, "ROLLBACK", 0, NULL, deadline, &timed_out);
            if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK &&
                PQtransactionStatus(conn->pg) == PQTRANS_IDLE)
                FIG_ADD(rollbacks, 1);
            else
                pool_doom(conn, CLOSE_DIRTY);
            PQclear(r);
            break;
        default:
            pool_doom(conn, CLOSE_DIRTY);
        }
    }
    if (conn->doomed)
        conn_close(conn, conn->doom_reason);
    else if (!cfg.pool_reuse)
        conn_close(conn, CLOSE_NO_REUSE);
    else if (time_mono_us() >= conn->expires_us)
        conn_close(conn, CLOSE_LIFETIME);
    else
        conn->last_used_us = time_mono_us();
    update_gauges();
}

/* Flushes what was sent and waits for the last result until deadline_us. */
static PGresult *await_result(db_conn_t *conn, bool sent, int64_t deadline_us, bool *timed_out)
{
    PGresult *last = NULL;
    short revents = 0;
    int rc;

    *timed_out = false;
    FIG_ADD(queries, 1);
    if (!sent)
        goto broken;
    while ((rc = PQflush(conn->pg)) > 0) {
        int w = wait_socket(conn->pg, POLLIN | POLLOUT, deadline_us, &revents);
        if (w == 0)
            goto deadline;
        if (w < 0 || ((revents & POLLIN) && !PQconsumeInput(conn->pg)))
            goto broken;
    }
    if (rc < 0)
        goto broken;
    for (;;) {
        while (!PQisBusy(conn->pg)) {
            PGresult *r = PQgetResult(conn->pg);
            if (r == NULL)
                return last;
            /* Keep an error over a later result, otherwise the last one. */
            if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
                PQclear(r);
            } else {
                PQclear(last);
                last = r;
            }
        }
        rc = wait_socket(conn->pg, POLLIN, deadline_us, NULL);
        if (rc == 0)
            goto deadline;
        if (rc < 0 || !PQconsumeInput(conn->pg))
            goto broken;
    }
deadline:
    *timed_out = true;
    cancel_running(conn);
    pool_doom(conn, CLOSE_QUERY_DEADLINE);
    PQclear(last);
    FIG_ADD(query_errors, 1);
    return NULL;
broken:
    pool_doom(conn, CLOSE_SERVER_GONE);
    PQclear(last);
    FIG_ADD(query_errors, 1);
    return NULL;
}

PGresult *pool_exec(db_conn_t *conn, const char *sql, int nparams, const char *const *values,
                    int64_t deadline_us, bool *timed_out)
{
    bool sent = PQsendQueryParams(conn->pg, sql, nparams, NULL, values, NULL, NULL, 0) == 1;
    return await_result(conn, sent, deadline_us, timed_out);
}

/* FNV-1a: statements of one route share long prefixes, so the cache compares hashes first
 * and the text only on a match. */
static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)sql; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

PGresult *pool_exec_prepared(db_conn_t *conn, const char *sql, int nparams,
                             const char *const *values, int64_t deadline_us, bool *timed_out)
{
    char name[16];
    uint64_t hash = sql_hash(sql);
    int k = 0;

    while (k < conn->nprepared &&
           (conn->prepared_hash[k] != hash || strcmp(conn->prepared[k], sql) != 0))
        k++;
    if (k == conn->nprepared) {
        PGresult *r;
        if (!cfg.db_prepared_statements || k == POOL_MAX_PREPARED)
            return pool_exec(conn, sql, nparams, values, deadline_us, timed_out);
        snprintf(name, sizeof name, "elog_%d", k);
        r = await_result(conn, PQsendPrepare(conn->pg, name, sql, nparams, NULL) == 1,
                         deadline_us, timed_out);
        if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
            return r;
        PQclear(r);
        conn->prepared[k] = strdup(sql);
        if (conn->prepared[k] == NULL)
            return pool_exec(conn, sql, nparams, values, deadline_us, timed_out);
        conn->prepared_hash[k] = hash;
        conn->nprepared++;
    }
    snprintf(name, sizeof name, "elog_%d", k);
    return await_result(conn,
                        PQsendQueryPrepared(conn->pg, name, nparams, values, NULL, NULL, 0) == 1,
                        deadline_us, timed_out);
}

int pool_idle_sockets(int *fds, int max)
{
    int n = 0;
    for (int i = 0; i < pool.max && n < max; i++) {
        db_conn_t *c = &pool.conns[i];
        if (c->pg != NULL && !c->in_use && PQsocket(c->pg) >= 0)
            fds[n++] = PQsocket(c->pg);
    }
    return n;
}

unsigned pool_sockets_generation(void)
{
    /* Each socket opened is counted as a connect and each one closed as a close. */
    uint64_t n = __atomic_load_n(&pool.fig->connects, __ATOMIC_RELAXED);
    for (int i = 0; i < CLOSE_REASONS; i++)
        n += __atomic_load_n(&pool.fig->closes[i], __ATOMIC_RELAXED);
    return (unsigned)n;
}

void pool_maintain(void)
{
    int64_t now = time_mono_us();
    int waiters = budget_waiters();
    int open = __atomic_load_n(&pool.fig->open, __ATOMIC_RELAXED);

    for (int i = 0; i < pool.max; i++) {
        db_conn_t *c = &pool.conns[i];
        if (c->pg == NULL || c->in_use)
            continue;
        if (!idle_input_ok(c))
            conn_close(c, c->doom_reason);
        else if (now >= c->expires_us)
            conn_close(c, CLOSE_LIFETIME);
        else if (waiters > 0)
            /* Another worker waits for the budget; an idle connection here helps nobody. */
            conn_close(c, CLOSE_BUDGET_GIVEBACK);
        else if (open > cfg.pool_min &&
                 now - c->last_used_us >= (int64_t)cfg.pool_idle_timeout_s * 1000000)
            conn_close(c, CLOSE_IDLE_TIMEOUT);
        else
            continue;
        open--;
    }
    /* Keep POOL_MIN warm between requests, so a fresh worker's first request does not pay the
     * connect; never while others wait for the budget, never against the backoff. */
    if (open < cfg.pool_min && waiters <= 0 && now >= pool.next_topup_us) {
        db_conn_t *c = free_slot();
        if (c != NULL && budget_take(0) == 0 && open_taken(c, now + TOPUP_CONNECT_US) == POOL_OK)
            update_gauges();
    }
}

void pool_shutdown(void)
{
    for (int i = 0; i < pool.max; i++) {
        if (pool.conns[i].pg != NULL)
            conn_close(&pool.conns[i], CLOSE_SHUTDOWN);
    }
}

int pool_retry_after_ms(void)
{
    int64_t left = pool.failfast_until_us - time_mono_us();
    return left > 1000 ? (int)(left / 1000) : 1000;
}

void pool_figures_json(cJSON *obj, const pool_figures_t *f)
{
    cJSON *closes = cJSON_AddObjectToObject(obj, "closes_by_reason");
    cJSON_AddNumberToObject(obj, "size", f->open);
    cJSON_AddNumberToObject(obj, "idle", f->idle);
    cJSON_AddNumberToObject(obj, "in_use", f->in_use);
    cJSON_AddNumberToObject(obj, "acquires", (double)f->acquires);
    cJSON_AddNumberToObject(obj, "waits", (double)f->waits);
    cJSON_AddNumberToObject(obj, "wait_ms_total", (double)f->wait_us / 1000.0);
    cJSON_AddNumberToObject(obj, "acquire_timeouts", (double)f->acquire_timeouts);
    cJSON_AddNumberToObject(obj, "connects", (double)f->connects);
    cJSON_AddNumberToObject(obj, "connect_ms_avg",
                            f->connects ? (double)f->connect_us / 1000.0 / (double)f->connects : 0);
    cJSON_AddNumberToObject(obj, "connect_failures", (double)f->connect_failures);
    cJSON_AddNumberToObject(obj, "reconnects", (double)f->reconnects);
    cJSON_AddNumberToObject(obj, "rollbacks", (double)f->rollbacks);
    cJSON_AddNumberToObject(obj, "cancels", (double)f->cancels);
    cJSON_AddNumberToObject(obj, "queries", (double)f->queries);
    cJSON_AddNumberToObject(obj, "errors", (double)(f->connect_failures + f->query_errors));
    for (int i = 0; i < CLOSE_REASONS; i++)
        cJSON_AddNumberToObject(closes, close_reason_names[i], (double)f->closes[i]);
}

void pool_status_json(cJSON *obj)
{
    cJSON *budget = cJSON_CreateObject();
    int in_use, waiting;
    bool attached = budget_usage(&in_use, &waiting) == 0;

    cJSON_AddBoolToObject(obj, "pool_initialized", pool.initialized);
    cJSON_AddBoolToObject(obj, "pool_exists", pool.initialized);
    cJSON_AddBoolToObject(obj, "database_url_set", cfg.database_url != NULL);
    cJSON_AddNumberToObject(obj, "max", pool.max);
    cJSON_AddNumberToObject(obj, "min", cfg.pool_min);
    cJSON_AddNumberToObject(obj, "waiting", attached ? waiting : 0);
    if (pool.initialized)
        pool_figures_json(obj, pool.fig);
    cJSON_AddBoolToObject(budget, "enforced", attached);
    if (attached) {
        cJSON_AddNumberToObject(budget, "limit", budget_limit());
        cJSON_AddNumberToObject(budget, "in_use", in_use);
        cJSON_AddNumberToObject(budget, "waiting", waiting);
    }
    cJSON_AddItemToObject(obj, "host_budget", budget);
}
