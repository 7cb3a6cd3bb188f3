/* test_pq_static.c -- the statically linked libpq (see the Makefile and common/pq_static.c)
 * against the test cluster: no shared libpq, Kerberos or LDAP library is loaded; a loopback
 * TCP connection authenticates with SCRAM (libpgcommon over the static OpenSSL) and goes on
 * without GSSAPI; TLS works and verifies certificates; what needs GSSAPI, or an LDAP service
 * lookup, fails with libpq's own error instead of crashing. Needs PG_PORT and VAR_DIR from
 * tests/run.sh (the cluster's superuser password is in VAR_DIR/pg/superuser-password). */
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

static char password[128];

static int find_shared(struct dl_phdr_info *info, size_t size, void *data)
{
    static const char *const unwanted[] = {"libpq.so",  "libgssapi", "libkrb5",     "libldap",
                                           "libgnutls", "libssl.so", "libcrypto.so"};
    (void)size;
    for (size_t i = 0; i < sizeof unwanted / sizeof unwanted[0]; i++) {
        if (strstr(info->dlpi_name, unwanted[i]) != NULL) {
            snprintf(data, 256, "%s", info->dlpi_name);
            return 1;
        }
    }
    return 0;
}

static void no_shared_libpq_or_its_libraries(void **state)
{
    char found[256] = "";
    (void)state;
    dl_iterate_phdr(find_shared, found);
    assert_string_equal(found, "");
    assert_int_equal(PQlibVersion() / 10000, 15);
}

/* A loopback connection to the test cluster with extra options; the caller PQfinishes. */
static PGconn *connect_tcp(const char *extra)
{
    char dsn[1024];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%s dbname=postgres user=elog password=%s connect_timeout=5 %s",
             getenv("PG_PORT"), password, extra);
    return PQconnectdb(dsn);
}

static void scram_over_tcp_without_gssapi(void **state)
{
    PGconn *pg = connect_tcp("gssencmode=prefer sslmode=disable");
    PGresult *r;
    (void)state;
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    assert_int_equal(PQgssEncInUse(pg), 0);
    assert_int_equal(PQsslInUse(pg), 0);
    r = PQexec(pg, "SELECT 6 * 7");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    PQfinish(pg);
}

/* A loopback connection with these options fails, and libpq's message contains want. */
static void assert_refused(const char *extra, const char *want)
{
    PGconn *pg = connect_tcp(extra);
    assert_int_equal(PQstatus(pg), CONNECTION_BAD);
    assert_non_null(strstr(PQerrorMessage(pg), want));
    PQfinish(pg);
}

/* The later password= overrides the right one. */
static void wrong_password_is_refused(void **state)
{
    (void)state;
    assert_refused("password=wrong", "password authentication failed");
}

static void gssapi_required_fails_cleanly(void **state)
{
    (void)state;
    assert_refused("gssencmode=require", "GSSAPI encryption required");
}

/* tests/run.sh turns TLS on in the test cluster with a self-signed certificate for localhost. */
static void tls_through_the_static_openssl(void **state)
{
    char extra[600];
    PGconn *pg = connect_tcp("sslmode=require gssencmode=disable");
    (void)state;
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    assert_int_equal(PQsslInUse(pg), 1);
    assert_non_null(strstr(PQsslAttribute(pg, "protocol"), "TLSv1."));
    PQfinish(pg);

    /* verify-full checks the certificate against its root and the host name. */
    snprintf(extra, sizeof extra, "sslmode=verify-full sslrootcert=%s/pg/data/server.crt",
             getenv("VAR_DIR"));
    assert_refused(extra, "does not match host name \"127.0.0.1\"");
}

static void ldap_service_lookup_fails_cleanly(void **state)
{
    char path[] = "/tmp/test_pq_static.XXXXXX";
    int fd = mkstemp(path);
    const char service[] = "[ldapsvc]\nldap://127.0.0.1:1/dc=example?uri?one?(cn=x)\n";
    PGconn *pg;
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, service, sizeof service - 1), (ssize_t)(sizeof service - 1));
    close(fd);
    setenv("PGSERVICEFILE", path, 1);
    pg = PQconnectdb("service=ldapsvc");
    unsetenv("PGSERVICEFILE");
    unlink(path);
    assert_int_equal(PQstatus(pg), CONNECTION_BAD);
    assert_non_null(strstr(PQerrorMessage(pg), "could not create LDAP structure"));
    PQfinish(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_shared_libpq_or_its_libraries),
        cmocka_unit_test(scram_over_tcp_without_gssapi),
        cmocka_unit_test(wrong_password_is_refused),
        cmocka_unit_test(gssapi_required_fails_cleanly),
        cmocka_unit_test(tls_through_the_static_openssl),
        cmocka_unit_test(ldap_service_lookup_fails_cleanly),
    };
    char path[512];
    FILE *f;

    if (getenv("PG_PORT") == NULL || getenv("VAR_DIR") == NULL) {
        fprintf(stderr, "test_pq_static needs PG_PORT and VAR_DIR (tests/run.sh provides them)\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/pg/superuser-password", getenv("VAR_DIR"));
    f = fopen(path, "r");
    if (f == NULL || fgets(password, sizeof password, f) == NULL) {
        fprintf(stderr, "test_pq_static cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    password[strcspn(password, "\n")] = '\0';
    return cmocka_run_group_tests(tests, NULL, NULL);
}
