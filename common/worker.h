/* worker.h -- the FastCGI worker runtime every route runs in. A route is one declaration:
 * its name, handlers, permissions and body limit; worker_main does the rest (accept on the
 * inherited socket, signals, pool upkeep between requests, errors, CORS, auth, access log). */
#ifndef WORKER_H
#define WORKER_H

#include <stddef.h>

#include "http.h"

/* Fills res; the return value is ignored (errors are already in res). */
typedef int (*route_handler_fn)(http_request_t *req, http_response_t *res);

typedef struct route {
    const char *name;              /* "logs": served at /api/logs */
    route_handler_fn get;          /* NULL: GET answers 405 */
    route_handler_fn post;         /* NULL: POST answers 405 */
    const char *get_permission;    /* NULL: no token needed */
    const char *post_permission;
    size_t body_limit;             /* POST bodies over this many bytes get 413 */
    const char *const *body_types; /* accepted POST media types; NULL: application/json only */
    const char *db_settings;       /* "-c name=value ..." for this route's sessions, or NULL */
    int accept_batch;              /* > 1: up to this many waiting requests (at most
                                      WORKER_ACCEPT_BATCH_MAX) are accepted before the first
                                      is served, for a route whose requests can share work
                                      (see db_ping); 0 or 1: one request at a time */
} route_t;

#define WORKER_ACCEPT_BATCH_MAX 16

/* Runs the worker until SIGTERM/SIGUSR2 or MAX_REQUESTS; returns the exit status. */
int worker_main(const route_t *route);

/* Milliseconds since this worker process started. */
long long worker_uptime_ms(void);

/* This worker's process id (kept: getpid() is a system call on every use). */
int worker_pid(void);

#define ROUTE_MAIN(route_var)                                                                 \
    int main(void)                                                                            \
    {                                                                                         \
        return worker_main(&(route_var));                                                     \
    }

#endif
