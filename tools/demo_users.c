/* demo_users.c -- creates the demo accounts with generated passwords and keeps their logins
 * in a private credentials file (DATABASE_URL).
 *
 * Usage: demo_users CREDENTIALS_FILE
 *
 * Accounts and permissions (the roles of API.md):
 *   admin    admin    read_logs view_dashboard analyze_logs ingest_logs manage_system
 *   analyst  analyst  read_logs view_dashboard analyze_logs
 *   user     user     read_logs view_dashboard
 *   viewer   viewer   view_dashboard
 *
 * The file holds one "username:password" line per account, mode 0600.
 *   - File complete and every account present: nothing changes (runs are idempotent).
 *   - File complete, some accounts missing (a new database): the missing ones are created
 *     with the passwords of the file; present ones are left alone.
 *   - File missing or incomplete: new passwords (password_generate) for every account; the
 *     accounts are created or reset (password, role, permissions, active), and the file is
 *     written anew (a temporary file opened with O_CREAT|O_EXCL, 0600, renamed into place).
 * Passwords are stored only as password_hash(..., 0) hashes (PBKDF2-SHA256).
 * Exit status: 0 success, 1 runtime or database error, 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "password.h"

#define PASSWORD_CHARS 21 /* 20 characters, ~116 bits */
#define LINE_MAX_LEN 256

typedef struct demo_user {
    const char *username;
    const char *role;
    const char *permissions; /* JSON array */
    char password[LINE_MAX_LEN];
    bool in_file;
    bool in_db;
} demo_user_t;

static demo_user_t users[] = {
    {"admin", "admin",
     "[\"read_logs\",\"view_dashboard\",\"analyze_logs\",\"ingest_logs\",\"manage_system\"]",
     "", false, false},
    {"analyst", "analyst", "[\"read_logs\",\"view_dashboard\",\"analyze_logs\"]", "", false, false},
    {"user", "user", "[\"read_logs\",\"view_dashboard\"]", "", false, false},
    {"viewer", "viewer", "[\"view_dashboard\"]", "", false, false},
};
#define NUSERS (sizeof users / sizeof users[0])

/* Creates the account or resets it to the demo definition with this password. */
static const char *const UPSERT_SQL =
    "INSERT INTO users (username, email, password_hash, role, permissions, is_active)"
    " VALUES ($1::text, $1::text || '@example.com', $2, $3, $4::jsonb, true)"
    " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
    " role = EXCLUDED.role, permissions = EXCLUDED.permissions, is_active = true";

/* Reads "username:password" lines of the demo accounts. Returns true when the file exists
 * (whether or not it is complete), false when it does not; exits on a read error. */
static bool read_credentials(const char *path)
{
    char line[LINE_MAX_LEN];
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        if (errno == ENOENT)
            return false;
        fprintf(stderr, "demo_users: cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        line[strcspn(line, "\r\n")] = '\0';
        if (colon == NULL || colon[1] == '\0')
            continue;
        *colon = '\0';
        for (size_t i = 0; i < NUSERS; i++) {
            if (strcmp(line, users[i].username) == 0) {
                snprintf(users[i].password, sizeof users[i].password, "%s", colon + 1);
                users[i].in_file = true;
            }
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return true;
}

/* Writes every account's login to a fresh 0600 file and renames it over path. */
static int write_credentials(const char *path)
{
    char tmp[4096];
    int fd;
    FILE *f;
    int rc = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "demo_users: path too long\n");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, "demo_users: cannot create %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (size_t i = 0; i < NUSERS; i++)
        fprintf(f, "%s:%s\n", users[i].username, users[i].password);
    if (fflush(f) != 0 || fsync(fd) != 0)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "demo_users: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

static int fail(PGconn *pg, const char *what)
{
    fprintf(stderr, "demo_users: %s: %s", what, PQerrorMessage(pg));
    PQfinish(pg);
    return 1;
}

/* Marks the demo accounts that exist. */
static int read_accounts(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT username FROM users"
                             " WHERE username IN ('admin', 'analyst', 'user', 'viewer')");

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        for (size_t i = 0; i < NUSERS; i++) {
            if (strcmp(PQgetvalue(r, row, 0), users[i].username) == 0)
                users[i].in_db = true;
        }
    }
    PQclear(r);
    return 0;
}

/* Creates (or resets, when reset_all) the accounts in one transaction. */
static int store_accounts(PGconn *pg, bool reset_all)
{
    PGresult *r = PQexec(pg, "BEGIN");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    PQclear(r);
    for (size_t i = 0; ok && i < NUSERS; i++) {
        char *hash;
        const char *values[4];
        if (!reset_all && users[i].in_db)
            continue;
        hash = password_hash(users[i].password, 0);
        if (hash == NULL) {
            fprintf(stderr, "demo_users: cannot hash a password\n");
            ok = false;
            break;
        }
        values[0] = users[i].username;
        values[1] = hash;
        values[2] = users[i].role;
        values[3] = users[i].permissions;
        r = PQexecParams(pg, UPSERT_SQL, 4, NULL, values, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "demo_users: %s", PQresultErrorMessage(r));
        PQclear(r);
        free(hash);
    }
    r = PQexec(pg, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {getenv("DATABASE_URL"), "10", "elog-demo-users", NULL};
    bool have_file, complete = true, all_present = true;
    PGconn *pg;
    int rc;

    if (argc != 2 || argv[1][0] == '\0') {
        fprintf(stderr, "usage: demo_users CREDENTIALS_FILE (database from DATABASE_URL)\n");
        return 2;
    }
    have_file = read_credentials(argv[1]);
    pg = PQconnectdbParams(vals[0] != NULL ? keys : keys + 1, vals[0] != NULL ? vals : vals + 1,
                           1);
    if (PQstatus(pg) != CONNECTION_OK)
        return fail(pg, "cannot connect");
    if (read_accounts(pg) != 0)
        return fail(pg, "cannot read users");
    for (size_t i = 0; i < NUSERS; i++) {
        complete = complete && users[i].in_file;
        all_present = all_present && users[i].in_db;
    }
    if (have_file && complete && all_present) {
        PQfinish(pg);
        printf("demo users: unchanged; logins in %s\n", argv[1]);
        return 0;
    }
    if (!(have_file && complete)) {
        for (size_t i = 0; i < NUSERS; i++) {
            if (password_generate(users[i].password, PASSWORD_CHARS) != 0) {
                fprintf(stderr, "demo_users: cannot generate a password\n");
                PQfinish(pg);
                return 1;
            }
        }
    }
    rc = store_accounts(pg, !(have_file && complete));
    if (rc != 0) {
        fprintf(stderr, "demo_users: the accounts were not stored\n");
        PQfinish(pg);
        return 1;
    }
    PQfinish(pg);
    if (!(have_file && complete) && write_credentials(argv[1]) != 0)
        return 1;
    for (size_t i = 0; i < NUSERS; i++)
        OPENSSL_cleanse(users[i].password, sizeof users[i].password);
    printf("demo users: %s; logins in %s\n",
           have_file && complete ? "missing accounts created from the file"
                                 : "passwords generated",
           argv[1]);
    return 0;
}
