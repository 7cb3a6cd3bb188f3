/* test_pool.c -- the pool and the host-wide budget against a real PostgreSQL (DATABASE_URL):
 * reuse, dirty release, validation tiers, lifetime, idle timeout, statement timeout, budget
 * waits, give-back, kill -9 without leaks, fail-fast while the database is unreachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "pool.h"
#include "timeutil.h"

static char budget_dir[64];
static worker_slot_t *slot;

static void fresh_pool(void)
{
    char err[256];
    setenv("AUTH_REQUIRED", "0", 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    slot = budget_claim_slot("test");
    pool_init("test", slot);
}

static int setup(void **state)
{
    (void)state;
    fresh_pool();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pool_shutdown();
    return 0;
}

static db_conn_t *must_acquire(void)
{
    enum pool_error err;
    const char *why;
    db_conn_t *c = pool_acquire(2000, &err, &why);
    if (c == NULL)
        fail_msg("acquire failed: %s", why);
    return c;
}

static PGresult *run(db_conn_t *c, const char *sql)
{
    bool timed_out;
    return pool_exec(c, sql, 0, NULL, time_mono_us() + 5000000, &timed_out);
}

/* A plain admin connection, outside the pool, to act on the server. */
static void admin(const char *sql)
{
    PGconn *pg = PQconnectdb(getenv("DATABASE_URL"));
    PGresult *r = PQexec(pg, sql);
    assert_true(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(pg);
}

static void test_reuse_one_connection(void **state)
{
    int backend = 0;
    (void)state;
    for (int i = 0; i < 100; i++) {
        db_conn_t *c = must_acquire();
        if (backend == 0)
            backend = PQbackendPID(c->pg);
        assert_int_equal(PQbackendPID(c->pg), backend);
        pool_release(c);
    }
    assert_int_equal(slot->pool.connects, 1);
    assert_int_equal(slot->pool.acquires, 100);
}

static void test_session_settings(void **state)
{
    char expect[64];
    db_conn_t *c = must_acquire();
    PGresult *r = run(c, "SELECT current_setting('application_name'), "
                         "current_setting('statement_timeout')");
    (void)state;
    snprintf(expect, sizeof expect, "elog:test/%d", (int)getpid());
    assert_string_equal(PQgetvalue(r, 0, 0), expect);
    assert_string_equal(PQgetvalue(r, 0, 1), "30s");
    PQclear(r);
    pool_release(c);
}

static void test_release_in_transaction_rolls_back(void **state)
{
    db_conn_t *c = must_acquire();
    int backend = PQbackendPID(c->pg);
    (void)state;
    PQclear(run(c, "BEGIN"));
    PQclear(run(c, "CREATE TEMP TABLE leftover(x int)"));
    assert_int_equal(PQtransactionStatus(c->pg), PQTRANS_INTRANS);
    pool_release(c);
    assert_int_equal(slot->pool.rollbacks, 1);
    c = must_acquire();
    assert_int_equal(PQbackendPID(c->pg), backend); /* kept, now clean */
    assert_int_equal(PQtransactionStatus(c->pg), PQTRANS_IDLE);
    PGresult *r = run(c, "SELECT to_regclass('pg_temp.leftover') IS NULL");
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    pool_release(c);
}

static void test_release_in_failed_transaction_rolls_back(void **state)
{
    db_conn_t *c = must_acquire();
    (void)state;
    PQclear(run(c, "BEGIN"));
    PQclear(run(c, "SELECT 1/0"));
    assert_int_equal(PQtransactionStatus(c->pg), PQTRANS_INERROR);
    pool_release(c);
    c = must_acquire();
    PGresult *r = run(c, "SELECT 42");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    pool_release(c);
    assert_int_equal(slot->pool.rollbacks, 1);
}

static void test_release_with_running_query_cancels(void **state)
{
    db_conn_t *c = must_acquire();
    int64_t t0;
    (void)state;
    assert_int_equal(PQsendQuery(c->pg, "SELECT pg_sleep(20)"), 1);
    PQflush(c->pg);
    t0 = time_mono_us();
    pool_release(c);
    assert_true(time_mono_us() - t0 < 1500000);
    assert_int_equal(slot->pool.cancels, 1);
    c = must_acquire();
    PGresult *r = run(c, "SELECT 7");
    assert_string_equal(PQgetvalue(r, 0, 0), "7");
    PQclear(r);
    pool_release(c);
}

static void test_server_hangup_while_idle_is_noticed(void **state)
{
    char sql[128];
    db_conn_t *c = must_acquire();
    (void)state;
    cfg.pool_min = 0; /* no background top-up: the test watches the pool empty */
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c->pg));
    pool_release(c);
    admin(sql);
    usleep(200000);
    pool_maintain();
    assert_int_equal(slot->pool.closes[CLOSE_SERVER_GONE], 1);
    assert_int_equal(slot->pool.open, 0);
    c = must_acquire();
    PGresult *r = run(c, "SELECT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pool_release(c);
    assert_int_equal(slot->pool.reconnects, 1);
}

static void test_hangup_after_trust_window_is_caught_at_acquire(void **state)
{
    char sql[128];
    db_conn_t *c = must_acquire();
    int old;
    (void)state;
    old = PQbackendPID(c->pg);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", old);
    pool_release(c);
    admin(sql);
    usleep(1100000); /* past the trust window; no pool_maintain in between */
    c = must_acquire();
    assert_int_not_equal(PQbackendPID(c->pg), old);
    PGresult *r = run(c, "SELECT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pool_release(c);
    assert_int_equal(slot->pool.closes[CLOSE_SERVER_GONE], 1);
}

static void test_ping_after_long_idle(void **state)
{
    db_conn_t *c;
    uint64_t queries;
    (void)state;
    cfg.pool_ping_idle_s = 1;
    c = must_acquire();
    pool_release(c);
    queries = slot->pool.queries;
    usleep(1100000);
    c = must_acquire();
    assert_int_equal(slot->pool.queries, queries + 1); /* the empty-query round trip */
    assert_int_equal(slot->pool.connects, 1);
    pool_release(c);
}

static void test_lifetime_replaces_connection(void **state)
{
    db_conn_t *c;
    (void)state;
    cfg.pool_max_lifetime_s = 1;
    c = must_acquire();
    pool_release(c);
    usleep(1300000); /* past 1 s + 15 % jitter */
    c = must_acquire();
    pool_release(c);
    assert_int_equal(slot->pool.closes[CLOSE_LIFETIME], 1);
    assert_int_equal(slot->pool.connects, 2);
    assert_int_equal(slot->pool.reconnects, 0); /* a planned replacement is no reconnect */
}

static void test_idle_timeout_keeps_minimum(void **state)
{
    db_conn_t *a, *b;
    (void)state;
    cfg.pool_idle_timeout_s = 1;
    cfg.pool_min = 1;
    a = must_acquire();
    b = must_acquire();
    pool_release(a);
    pool_release(b);
    assert_int_equal(slot->pool.open, 2);
    usleep(1100000);
    pool_maintain();
    assert_int_equal(slot->pool.open, 1);
    assert_int_equal(slot->pool.closes[CLOSE_IDLE_TIMEOUT], 1);
}

static void test_statement_timeout_keeps_connection(void **state)
{
    db_conn_t *c;
    PGresult *r;
    (void)state;
    cfg.db_statement_timeout_ms = 200;
    c = must_acquire();
    r = run(c, "SELECT pg_sleep(2)");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
    PQclear(r);
    pool_release(c);
    c = must_acquire();
    r = run(c, "SELECT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pool_release(c);
    assert_int_equal(slot->pool.connects, 1);
}

static PGresult *run_prepared(db_conn_t *c, const char *sql, const char *arg)
{
    bool timed_out;
    const char *values[] = {arg};
    return pool_exec_prepared(c, sql, arg != NULL, values, time_mono_us() + 5000000, &timed_out);
}

static const char *prepared_count(db_conn_t *c, PGresult **keep)
{
    *keep = run(c, "SELECT count(*) FROM pg_prepared_statements");
    return PQgetvalue(*keep, 0, 0);
}

static void test_statements_prepared_once_per_connection(void **state)
{
    db_conn_t *c = must_acquire();
    PGresult *r, *count;
    (void)state;
    for (int i = 0; i < 3; i++) {
        r = run_prepared(c, "SELECT $1::int + 1", "41");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), "42");
        PQclear(r);
    }
    r = run_prepared(c, "SELEKT 1", NULL); /* an error is an ordinary error result */
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    assert_string_equal(prepared_count(c, &count), "1");
    PQclear(count);
    pool_release(c);
}

static void test_prepared_statements_can_be_switched_off(void **state)
{
    db_conn_t *c = must_acquire();
    PGresult *r, *count;
    (void)state;
    cfg.db_prepared_statements = false;
    r = run_prepared(c, "SELECT $1::int * 2", "21");
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    assert_string_equal(prepared_count(c, &count), "0");
    PQclear(count);
    pool_release(c);
}

static void test_background_topup_keeps_minimum_warm(void **state)
{
    (void)state;
    cfg.pool_min = 1;
    assert_int_equal(slot->pool.open, 0);
    pool_maintain();
    assert_int_equal(slot->pool.open, 1);
    assert_int_equal(slot->pool.idle, 1);
    assert_int_equal(slot->pool.connects, 1);
    pool_maintain(); /* already at the minimum: nothing more */
    assert_int_equal(slot->pool.connects, 1);
    pool_release(must_acquire());
    assert_int_equal(slot->pool.connects, 1); /* the first request found it warm */
}

static void test_fatal_sqlstates(void **state)
{
    (void)state;
    assert_true(pool_sqlstate_is_fatal("08006"));
    assert_true(pool_sqlstate_is_fatal("57P01"));
    assert_true(pool_sqlstate_is_fatal("57P03"));
    assert_true(pool_sqlstate_is_fatal("25006"));
    assert_false(pool_sqlstate_is_fatal("57014"));
    assert_false(pool_sqlstate_is_fatal("23505"));
    assert_false(pool_sqlstate_is_fatal(NULL));
}

static void test_unreachable_database_fails_fast_then_retries(void **state)
{
    enum pool_error err;
    const char *why;
    int64_t t0;
    (void)state;
    cfg.database_url = "postgresql://nobody@127.0.0.1:1/none";
    t0 = time_mono_us();
    assert_null(pool_acquire(2000, &err, &why));
    assert_int_equal(err, POOL_UNAVAILABLE);
    assert_true(time_mono_us() - t0 < 500000);
    assert_int_equal(slot->pool.connect_failures, 1);
    /* Inside the fail-fast window nothing is tried. */
    assert_null(pool_acquire(2000, &err, &why));
    assert_int_equal(slot->pool.connect_failures, 1);
    usleep(600000); /* the window never exceeds 500 ms */
    assert_null(pool_acquire(2000, &err, &why));
    assert_int_equal(slot->pool.connect_failures, 2);
    cfg.database_url = getenv("DATABASE_URL");
}

/* A server that accepts TCP but never answers: acquire must still end at its timeout. */
static void test_acquire_never_hangs_past_timeout(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[128];
    enum pool_error err;
    const char *why;
    int64_t t0, took;
    (void)state;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    snprintf(url, sizeof url, "postgresql://x@127.0.0.1:%d/x", ntohs(sa.sin_port));
    cfg.database_url = url;
    t0 = time_mono_us();
    assert_null(pool_acquire(300, &err, &why));
    took = time_mono_us() - t0;
    assert_true(took >= 250000 && took < 800000);
    assert_string_equal(why, "the database did not answer within the deadline");
    cfg.database_url = getenv("DATABASE_URL");
    close(fd);
}

/* ---- the host-wide budget ------------------------------------------------------------ */

static int budget_setup(void **state)
{
    char err[256];
    (void)state;
    snprintf(budget_dir, sizeof budget_dir, "/tmp/elog-budget.XXXXXX");
    assert_non_null(mkdtemp(budget_dir));
    assert_int_equal(budget_create(budget_dir, 1, err, sizeof err), 0);
    assert_int_equal(budget_attach(budget_dir, err, sizeof err), 0);
    fresh_pool();
    return 0;
}

static int budget_teardown(void **state)
{
    char err[256], path[128];
    (void)state;
    pool_shutdown();
    budget_remove(budget_dir, err, sizeof err);
    snprintf(path, sizeof path, "%s", budget_dir);
    rmdir(path);
    return 0;
}

static void test_budget_exhausted_times_out(void **state)
{
    enum pool_error err;
    const char *why;
    db_conn_t *held;
    int64_t t0, took;
    int in_use, waiting;
    (void)state;
    held = must_acquire();
    assert_int_equal(budget_in_use(), 1);
    /* Both figures at one instant, as health and monitoring report them. */
    assert_int_equal(budget_usage(&in_use, &waiting), 0);
    assert_int_equal(in_use, 1);
    assert_int_equal(waiting, 0);
    t0 = time_mono_us();
    assert_null(pool_acquire(300, &err, &why));
    took = time_mono_us() - t0;
    assert_int_equal(err, POOL_TIMEOUT);
    assert_true(took >= 280000 && took < 1000000);
    assert_int_equal(slot->pool.acquire_timeouts, 1);
    assert_int_equal(budget_waiters(), 0);
    pool_release(held);
}

/* Another process holds the only slot idle; it gives it back when this one waits. */
static void test_idle_holder_gives_back_to_waiter(void **state)
{
    int ready[2];
    pid_t child;
    char byte;
    db_conn_t *c;
    int64_t t0;
    (void)state;
    assert_int_equal(pipe(ready), 0);
    child = fork();
    if (child == 0) {
        fresh_pool();
        pool_release(must_acquire());
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (int i = 0; i < 300; i++) {
            pool_maintain();
            usleep(10000);
        }
        pool_shutdown();
        _exit(slot->pool.closes[CLOSE_BUDGET_GIVEBACK] == 1 ? 0 : 1);
    }
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_int_equal(budget_in_use(), 1);
    t0 = time_mono_us();
    c = must_acquire();
    assert_true(time_mono_us() - t0 < 1000000);
    assert_int_equal(slot->pool.waits, 1);
    pool_release(c);
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_kill9_leaks_no_budget(void **state)
{
    int ready[2];
    pid_t child;
    char byte;
    int status;
    (void)state;
    assert_int_equal(pipe(ready), 0);
    child = fork();
    if (child == 0) {
        fresh_pool();
        must_acquire();
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(ready[0], &byte, 1), 1);
    assert_int_equal(budget_in_use(), 1);
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    assert_int_equal(budget_in_use(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse_one_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_in_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_in_failed_transaction_rolls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_release_with_running_query_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_hangup_while_idle_is_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hangup_after_trust_window_is_caught_at_acquire, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ping_after_long_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime_replaces_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout_keeps_minimum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_timeout_keeps_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statements_prepared_once_per_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prepared_statements_can_be_switched_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_background_topup_keeps_minimum_warm, setup,
                                        teardown),
        cmocka_unit_test(test_fatal_sqlstates),
        cmocka_unit_test_setup_teardown(test_unreachable_database_fails_fast_then_retries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acquire_never_hangs_past_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_exhausted_times_out, budget_setup,
                                        budget_teardown),
        cmocka_unit_test_setup_teardown(test_idle_holder_gives_back_to_waiter, budget_setup,
                                        budget_teardown),
        cmocka_unit_test_setup_teardown(test_kill9_leaks_no_budget, budget_setup, budget_teardown),
    };
    if (getenv("DATABASE_URL") == NULL) {
        fprintf(stderr, "test_pool needs DATABASE_URL (tests/run.sh provides one)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
