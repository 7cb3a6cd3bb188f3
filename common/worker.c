/* worker.c -- the FastCGI worker runtime: one request at a time from the inherited socket. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "budget.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "pool.h"
#include "reqmem.h"
#include "timeutil.h"

#define LISTEN_FD 0
#define MAINTAIN_EVERY_US 100000   /* pool upkeep and budget give-back, at most this late */

static volatile sig_atomic_t stop_requested;
static int64_t started_ms;
static int my_pid;
static worker_slot_t *slot;
static unsigned long long request_seq;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Installed before FCGX_Init so that libfcgi keeps ours; SA_RESTART keeps a write in
 * progress going, while epoll_wait() between requests still wakes with EINTR. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* multiwatch passes its own SIGTERM on to the workers as SIGQUIT. */
    sigaction(SIGQUIT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int worker_pid(void)
{
    return my_pid;
}

long long worker_uptime_ms(void)
{
    return (long long)(time_now_ms() - started_ms);
}

/* A client's X-Request-Id is kept when it is 1-64 characters of [A-Za-z0-9._-]. */
static void set_request_id(http_request_t *req)
{
    const char *given = FCGX_GetParam("HTTP_X_REQUEST_ID", req->fcgi->envp);
    size_t len = given != NULL ? strlen(given) : 0;

    if (len > 0 && len < sizeof req->request_id &&
        strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
            len) {
        memcpy(req->request_id, given, len + 1);
        return;
    }
    snprintf(req->request_id, sizeof req->request_id, "%x-%llx-%llx", (unsigned)my_pid,
             (unsigned long long)time_now_ms(), ++request_seq);
}

static bool content_type_allowed(const route_t *route, const char *type)
{
    static const char *const json_only[] = {"application/json", NULL};
    const char *const *allowed = route->body_types != NULL ? route->body_types : json_only;
    size_t len;

    if (type == NULL)
        return false;
    len = strcspn(type, ";");
    while (len > 0 && type[len - 1] == ' ')
        len--;
    for (; *allowed != NULL; allowed++) {
        if (strlen(*allowed) == len && strncasecmp(type, *allowed, len) == 0)
            return true;
    }
    return false;
}

static void unsupported_media_type(const route_t *route, http_response_t *res)
{
    static const char *const json_only[] = {"application/json", NULL};
    const char *const *types = route->body_types != NULL ? route->body_types : json_only;
    char msg[256];
    size_t n = (size_t)snprintf(msg, sizeof msg, "The request body must be");

    for (int i = 0; types[i] != NULL && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? " or" : "", types[i]);
    if (n < sizeof msg - 1)
        strcat(msg, ".");
    http_error(res, 415, "UNSUPPORTED_MEDIA_TYPE", msg, NULL);
}

static void method_not_allowed(const route_t *route, http_response_t *res)
{
    char allow[64];
    snprintf(allow, sizeof allow, "%s%sOPTIONS", route->get ? "GET, " : "",
             route->post ? "POST, " : "");
    http_add_header(res, "Allow", "%s", allow);
    http_error(res, 405, "METHOD_NOT_ALLOWED", "This route does not serve that method.", NULL);
}

/* Everything between accept and the handler: method, query, auth, body. */
static void dispatch(const route_t *route, http_request_t *req, http_response_t *res)
{
    bool is_get = strcmp(req->method, "GET") == 0, is_post = strcmp(req->method, "POST") == 0;
    route_handler_fn handler = is_get ? route->get : is_post ? route->post : NULL;
    const char *permission = is_get ? route->get_permission : route->post_permission;

    if (strcmp(req->method, "OPTIONS") == 0) {
        res->status = 204;
        return;
    }
    if (handler == NULL) {
        method_not_allowed(route, res);
        return;
    }
    if (http_parse_query(req, res, FCGX_GetParam("QUERY_STRING", req->fcgi->envp)) != 0)
        return;
    if (auth_authorize(req, res, permission) != 0)
        return;
    if (is_post) {
        if (!content_type_allowed(route, req->content_type)) {
            unsupported_media_type(route, res);
            return;
        }
        if (http_read_body(req, res, route->body_limit) != 0)
            return;
    }
    res->status = 200;
    handler(req, res);
    if (res->status == 200 && res->body == NULL)
        http_error(res, 500, "INTERNAL_ERROR", "The route produced no response.", NULL);
}

static void record(int status, int64_t duration_us)
{
    __atomic_add_fetch(&slot->requests, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&slot->latency_us_total, (uint64_t)duration_us, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->last_request_ms, (uint64_t)time_now_ms(), __ATOMIC_RELAXED);
    if (status >= 500)
        __atomic_add_fetch(&slot->status_5xx, 1, __ATOMIC_RELAXED);
    else if (status >= 400)
        __atomic_add_fetch(&slot->status_4xx, 1, __ATOMIC_RELAXED);
}

/* Serves one accepted request; its duration counts from its accept. */
static void serve(const route_t *route, FCGX_Request *fcgi, int64_t accepted_us)
{
    int64_t t0 = accepted_us, duration;
    http_request_t req;
    http_response_t res;
    int sent;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    req.fcgi = fcgi;
    req.arrived_us = accepted_us;
    req.method = FCGX_GetParam("REQUEST_METHOD", fcgi->envp);
    req.method = req.method != NULL ? req.method : "GET";
    req.content_type = FCGX_GetParam("CONTENT_TYPE", fcgi->envp);
    req.authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fcgi->envp);
    req.remote_addr = FCGX_GetParam("REMOTE_ADDR", fcgi->envp);
    set_request_id(&req);

    dispatch(route, &req, &res);
    db_release(&req);
    http_add_header(&res, "X-Worker-Pid", "%d", my_pid);
    http_add_header(&res, "X-Worker-Uptime-Ms", "%lld", worker_uptime_ms());
    sent = http_send(&req, &res);
    duration = time_mono_us() - t0;
    record(res.status, duration);
    log_info("access route=%s method=%s status=%d duration_us=%lld request_id=%s pid=%d%s",
             route->name, req.method, res.status, (long long)duration, req.request_id, my_pid,
             sent == 0 ? "" : " client_gone=1");
    http_request_free(&req);
    http_response_free(&res);
    reqmem_reset();
}

/* Before the first accept: opens POOL_MIN connections and, when that keeps any, answers a GET
 * without query or token internally WARM_UP_RUNS times (not counted, not logged as access), so
 * that the server's caches, the route's prepared statements and its plans are warm when the
 * first client arrives. A fresh server session needs more than one run: monitoring's statement
 * took 55, 7, 5 and 4 ms in its first four runs on 1M rows. With POOL_MIN=0 nothing would stay
 * warm, so nothing is done. The route's answers are logged; a failure (the database down) does
 * not stop the worker. */
#define WARM_UP_RUNS 3
static void warm_up(const route_t *route)
{
    http_request_t req;
    http_response_t res;
    char took[64] = "";
    size_t len = 0;
    int runs = 0, status = 0;

    pool_maintain();
    while (route->get != NULL && cfg.pool_min > 0 && runs < WARM_UP_RUNS) {
        memset(&req, 0, sizeof req);
        memset(&res, 0, sizeof res);
        req.method = "GET";
        req.arrived_us = time_mono_us();
        snprintf(req.request_id, sizeof req.request_id, "warm-up-%d", my_pid);
        res.status = 200;
        route->get(&req, &res);
        db_release(&req);
        status = res.status;
        len += (size_t)snprintf(took + len, sizeof took - len, "%s%.1f", runs ? ", " : "",
                                (double)(time_mono_us() - req.arrived_us) / 1000);
        runs++;
        http_request_free(&req);
        http_response_free(&res);
        reqmem_reset();
        if (status != 200)
            break;
    }
    if (runs > 0)
        log_info("warm-up GET answered %d (%d runs: %s ms)", status, runs, took);
    __atomic_store_n(&slot->ready, 1, __ATOMIC_RELEASE);
}

/* Pool upkeep (top-ups, idle closes, budget give-back) when it is due, or at once. */
static int64_t last_maintain_us;
static void maintain(bool now)
{
    if (now || time_mono_us() - last_maintain_us >= MAINTAIN_EVERY_US) {
        pool_maintain();
        last_maintain_us = time_mono_us();
    }
}

/* The worker waits in epoll for the listen socket and its idle pooled sockets. The listen
 * socket, shared by every worker of the route, is registered EPOLLEXCLUSIVE: a new
 * connection wakes one waiting worker, not all of them (with poll() each of them woke, and
 * all but one found nothing to accept). */
static int epoll_fd = -1;
static int watched[POOL_HARD_MAX], watched_n;
static unsigned watched_generation;

static int watch_listen_socket(void)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = LISTEN_FD};

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, LISTEN_FD, &ev) != 0) {
        log_error("cannot wait on the listen socket: %s", strerror(errno));
        return -1;
    }
    watched_generation = pool_sockets_generation() - 1;
    return 0;
}

/* Registers the idle pooled sockets again when the pool opened or closed one since. */
static void watch_pool_sockets(void)
{
    int fds[POOL_HARD_MAX];

    if (watched_generation == pool_sockets_generation())
        return;
    /* A closed socket has left the set by itself; this one may fail, harmlessly. */
    for (int i = 0; i < watched_n; i++)
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, watched[i], NULL);
    watched_n = 0;
    for (int i = 0, n = pool_idle_sockets(fds, POOL_HARD_MAX); i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fds[i], &ev) == 0)
            watched[watched_n++] = fds[i];
    }
    watched_generation = pool_sockets_generation();
}

/* Waits for a connection on the listen socket, doing pool upkeep meanwhile. Returns true
 * when the listen socket is readable, false when asked to stop. */
static bool wait_for_client(void)
{
    struct epoll_event events[1 + POOL_HARD_MAX];

    while (!stop_requested) {
        bool listen_ready = false, pool_readable = false;
        int rc;

        watch_pool_sockets();
        rc = epoll_wait(epoll_fd, events, 1 + POOL_HARD_MAX, MAINTAIN_EVERY_US / 1000);
        if (rc < 0 && errno != EINTR) {
            log_error("epoll_wait failed: %s", strerror(errno));
            return false;
        }
        for (int i = 0; i < rc; i++) {
            if (events[i].data.fd != LISTEN_FD)
                pool_readable = true;
            else if (events[i].events & EPOLLIN)
                listen_ready = true;
            else {
                log_error("the listen socket is gone");
                return false;
            }
        }
        maintain(pool_readable);
        if (listen_ready)
            return !stop_requested;
    }
    return false;
}

/* Ends a request. When nginx has sent the whole of it (its stdin is at the end), nothing
 * more can arrive on the connection, so it is closed at once. libfcgi's own close would
 * first shut down the sending side and wait for nginx to hang up (a lingering close), which
 * puts the worker to sleep once a request. A request whose body was not read to the end
 * keeps the lingering close, so that nginx is never cut off while it is still sending. */
static void finish(FCGX_Request *fcgi)
{
    if (fcgi->in != NULL && FCGX_GetChar(fcgi->in) == EOF && FCGX_GetError(fcgi->in) == 0)
        FCGX_Detach(fcgi);
    FCGX_Finish_r(fcgi);
}

/* Accepts up to max waiting requests from the non-blocking listen socket, noting when each
 * was accepted. Returns how many; *rc is the result of the accept that ended the batch
 * (-EAGAIN when no more were waiting). */
static int accept_requests(FCGX_Request *fcgi, int64_t *accepted_us, int max, int *rc)
{
    int n = 0;
    while (n < max && (*rc = FCGX_Accept_r(&fcgi[n])) >= 0)
        accepted_us[n++] = time_mono_us();
    return n;
}

int worker_main(const route_t *route)
{
    char err[256];
    FCGX_Request fcgi[WORKER_ACCEPT_BATCH_MAX];
    int64_t accepted_us[WORKER_ACCEPT_BATCH_MAX];
    int batch = route->accept_batch < 1                         ? 1
                : route->accept_batch > WORKER_ACCEPT_BATCH_MAX ? WORKER_ACCEPT_BATCH_MAX
                                                                : route->accept_batch;
    long served = 0;
    const char *exit_reason = "signal";

    install_signals();
    reqmem_install();
    started_ms = time_now_ms();
    my_pid = (int)getpid();
    log_set_tag(route->name);
    if (config_load(err, sizeof err) != 0) {
        log_error("configuration: %s", err);
        return 2;
    }
    if (cfg.run_dir != NULL && budget_attach(cfg.run_dir, err, sizeof err) != 0) {
        log_error("%s", err);
        return 2;
    }
    slot = budget_claim_slot(route->name);
    pool_init(route->name, slot);
    pool_set_settings(route->db_settings);
    for (int i = 0; i < batch; i++) {
        if ((i == 0 && FCGX_Init() != 0) || FCGX_InitRequest(&fcgi[i], LISTEN_FD, 0) != 0) {
            log_error("cannot initialise FastCGI");
            return 2;
        }
    }
    /* Non-blocking accept: a worker that finds no connection after all goes back to waiting
     * instead of sleeping in accept(), where it could not tend its pool. */
    fcntl(LISTEN_FD, F_SETFL, fcntl(LISTEN_FD, F_GETFL) | O_NONBLOCK);
    if (watch_listen_socket() != 0)
        return 2;
    warm_up(route);
    log_info("worker ready in %lld ms (pool max %d, min %d)", worker_uptime_ms(), cfg.pool_max,
             cfg.pool_min);

    /* While requests keep coming, the next ones are usually queued by the time a batch is
     * answered: they are accepted straight away, and the worker waits in epoll only when none
     * is waiting. Pool upkeep still runs when due. */
    last_maintain_us = time_mono_us();
    for (bool busy = false; !stop_requested && (busy || wait_for_client());) {
        int rc = -EAGAIN, max = batch, n;
        if (cfg.max_requests > 0 && cfg.max_requests - served < max)
            max = (int)(cfg.max_requests - served);
        n = accept_requests(fcgi, accepted_us, max, &rc);
        if (n == 0 && (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)) {
            busy = false;
            continue;
        }
        if (n == 0) {
            log_error("accept failed: %s", strerror(-rc));
            exit_reason = "accept error";
            break;
        }
        /* Every accepted request is answered, also after a stop signal. The batch's access
         * lines go out in one write, before any of its answers does. */
        log_hold();
        for (int i = 0; i < n; i++)
            serve(route, &fcgi[i], accepted_us[i]);
        log_release();
        for (int i = 0; i < n; i++)
            finish(&fcgi[i]);
        served += n;
        if (cfg.max_requests > 0 && served >= cfg.max_requests) {
            exit_reason = "max requests";
            break;
        }
        busy = true;
        maintain(false);
    }
    pool_shutdown();
    budget_release_slot();
    log_info("worker exiting (%s) after %ld requests", exit_reason, served);
    return 0;
}
