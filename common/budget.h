/* budget.h -- the host-wide connection budget and every worker's figures, in one shared
 * segment that all workers of all routes on this host attach to. */
#ifndef BUDGET_H
#define BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHARED_MAX_WORKERS 256
#define SHARED_ROUTE_LEN 32
#define SHARED_MAX_CONNS 64      /* connections one worker may hold (POOL_MAX ceiling) */
#define BACKEND_REMOTE (-1)      /* a backend on another host: its pid cannot be checked */
#define CONNECT_GRACE_US 1000000 /* how long an orphaned half-made connection may linger */

/* Why a pooled connection was closed; each has a counter. */
enum close_reason {
    CLOSE_IDLE_TIMEOUT,   /* "idle timeout": idle past POOL_IDLE_TIMEOUT_S above POOL_MIN */
    CLOSE_LIFETIME,       /* "lifetime over": past POOL_MAX_LIFETIME_S (with jitter) */
    CLOSE_SERVER_GONE,    /* "server closed": hang-up or FATAL seen while idle */
    CLOSE_PING_FAILED,    /* "ping failed": round trip after long idle failed */
    CLOSE_FATAL_SQLSTATE, /* "fatal sqlstate": 08xxx, 57P0x or 25006 on a query */
    CLOSE_DIRTY,          /* "dirty release": could not be returned clean */
    CLOSE_QUERY_DEADLINE, /* "query deadline": no answer within the client deadline */
    CLOSE_BUDGET_GIVEBACK,/* "budget contended": given back because other workers wait */
    CLOSE_SHUTDOWN,       /* "shutdown": worker exit */
    CLOSE_NO_REUSE,       /* "no_reuse": POOL_REUSE=0, the connect-per-request baseline */
    CLOSE_REASONS
};
extern const char *const close_reason_names[CLOSE_REASONS];

typedef struct pool_figures {
    uint64_t acquires, waits, wait_us, acquire_timeouts;
    uint64_t connects, connect_us, connect_failures, reconnects;
    uint64_t closes[CLOSE_REASONS];
    uint64_t rollbacks, cancels, queries, query_errors;
    int32_t open, idle, in_use, max;
} pool_figures_t;

typedef struct worker_slot {
    int32_t pid;                 /* 0 when free; a dead pid is reclaimable */
    char route[SHARED_ROUTE_LEN];
    int64_t started_ms;
    int32_t ready;               /* 1 once warmed up and accepting, 0 before */
    uint64_t requests, status_4xx, status_5xx, latency_us_total, last_request_ms;
    pool_figures_t pool;
    /* Server process of each open connection (0: none), so that after a kill -9 the budget
     * slot is reused only once the orphaned backend has really gone. */
    int32_t backend_pids[SHARED_MAX_CONNS];
    /* Set while a connect is under way: its backend exists before its pid is known. */
    int64_t connecting_since_us;
} worker_slot_t;

typedef struct shared_segment {
    uint32_t magic;
    int32_t budget;
    int32_t reserved;
    int64_t created_ms;          /* when the stack started: this deployment's uptime */
    worker_slot_t slots[SHARED_MAX_WORKERS];
} shared_segment_t;

/* Creates the semaphore (initialised to budget) and the segment for run_dir, replacing any
 * left by an earlier run, and records their ids in run_dir/ipc. Returns 0 or -1 with err. */
int budget_create(const char *run_dir, int budget, char *err, size_t errlen);

/* Removes what budget_create made. Returns 0 or -1 with err. */
int budget_remove(const char *run_dir, char *err, size_t errlen);

/* Attaches this process to run_dir's budget. Returns 0 or -1 with err. Without an attach,
 * take/give do nothing and figures stay process-local. */
int budget_attach(const char *run_dir, char *err, size_t errlen);

bool budget_attached(void);

/* Takes one connection slot, waiting at most timeout_ms. SEM_UNDO makes the kernel return it
 * if this process dies. Returns 0 when a slot was free at once, 1 when it had to wait, -1
 * when the wait timed out or failed. */
int budget_take(int timeout_ms);

/* Returns one slot taken by budget_take. */
void budget_give(void);

/* Slots in use and workers waiting, host-wide; -1 when not attached. */
int budget_in_use(void);
int budget_waiters(void);

/* Both of the above read at one instant (one system call). Returns 0, or -1 when not
 * attached (both then -1). */
int budget_usage(int *in_use, int *waiting);
int budget_limit(void);

/* The shared segment (NULL when not attached), read-only use by reporting routes. */
const shared_segment_t *budget_shared(void);

/* Claims this process's slot for route; returns it, or a process-local slot when the segment
 * is full or not attached. Never NULL. */
worker_slot_t *budget_claim_slot(const char *route);

/* Before a connection is opened on a slot that may have come back from a killed worker:
 * waits until the backends of every dead worker have exited (checked by pid for a database
 * on this host), then frees those workers' slots. Returns 0, or -1 if one is still alive at
 * deadline_us (monotonic). */
int budget_reap_dead(int64_t deadline_us);

/* Frees this process's slot (clean exit). */
void budget_release_slot(void);

/* True when the slot's process is alive. */
bool budget_slot_alive(const worker_slot_t *slot);

#endif
