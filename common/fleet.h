/* fleet.h -- the host's live workers, summed per route from the shared segment: what
 * /api/monitoring and /api/service_health report about every route at once. */
#ifndef FLEET_H
#define FLEET_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "budget.h"

typedef struct fleet_route {
    char name[SHARED_ROUTE_LEN];
    int workers;                 /* live worker processes of the route */
    int64_t oldest_started_ms;   /* start of its longest-running live worker */
    uint64_t requests, status_4xx, status_5xx, latency_us_total;
    uint64_t last_request_ms;    /* latest of its workers' last requests; 0 when none */
    pool_figures_t pool;         /* summed over its workers */
} fleet_route_t;

typedef struct fleet {
    int nroutes;
    fleet_route_t routes[SHARED_MAX_WORKERS]; /* sorted by name */
    fleet_route_t total;                      /* every route together; name "" */
} fleet_t;

/* Sums the slots whose process is alive, per route. Figures of a worker that has exited
 * leave with it: requests and errors are those served by the workers alive now. Returns a
 * fleet the caller frees with free(), or NULL when this process is not attached to the
 * shared segment (or out of memory). */
fleet_t *fleet_collect(void);

/* Mean request latency in ms, or -1 when the route has served no request. */
double fleet_mean_latency_ms(const fleet_route_t *r);

/* Share of requests answered 5xx, in percent; 0 when none were served. */
double fleet_5xx_percent(const fleet_route_t *r);

/* Adds to obj: workers, requests, status_4xx, status_5xx, error_rate_5xx (percent, 2 dp),
 * mean_latency_ms (2 dp, null without requests), started (oldest live worker), and "pool"
 * (the summed figures, pool_figures_json's shape). */
void fleet_route_json(cJSON *obj, const fleet_route_t *r);

#endif
