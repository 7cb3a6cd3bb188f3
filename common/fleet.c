/* fleet.c -- per-route sums of the live worker slots in the shared segment. */
#include "fleet.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "pool.h"

/* Slots are written by other processes with relaxed atomics; read them the same way. */
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static void add_pool(pool_figures_t *sum, const pool_figures_t *f)
{
    sum->acquires += LOAD(f->acquires);
    sum->waits += LOAD(f->waits);
    sum->wait_us += LOAD(f->wait_us);
    sum->acquire_timeouts += LOAD(f->acquire_timeouts);
    sum->connects += LOAD(f->connects);
    sum->connect_us += LOAD(f->connect_us);
    sum->connect_failures += LOAD(f->connect_failures);
    sum->reconnects += LOAD(f->reconnects);
    for (int i = 0; i < CLOSE_REASONS; i++)
        sum->closes[i] += LOAD(f->closes[i]);
    sum->rollbacks += LOAD(f->rollbacks);
    sum->cancels += LOAD(f->cancels);
    sum->queries += LOAD(f->queries);
    sum->query_errors += LOAD(f->query_errors);
    sum->open += LOAD(f->open);
    sum->idle += LOAD(f->idle);
    sum->in_use += LOAD(f->in_use);
    sum->max += LOAD(f->max);
}

static void add_route(fleet_route_t *sum, const fleet_route_t *r)
{
    sum->workers += r->workers;
    if (sum->oldest_started_ms == 0 ||
        (r->oldest_started_ms != 0 && r->oldest_started_ms < sum->oldest_started_ms))
        sum->oldest_started_ms = r->oldest_started_ms;
    sum->requests += r->requests;
    sum->status_4xx += r->status_4xx;
    sum->status_5xx += r->status_5xx;
    sum->latency_us_total += r->latency_us_total;
    if (r->last_request_ms > sum->last_request_ms)
        sum->last_request_ms = r->last_request_ms;
    add_pool(&sum->pool, &r->pool);
}

/* The slot's figures as a one-worker route; false for a slot being claimed (no name yet). */
static bool read_slot(const worker_slot_t *s, fleet_route_t *one)
{
    memset(one, 0, sizeof *one);
    for (size_t i = 0; i < sizeof one->name - 1; i++)
        one->name[i] = LOAD(s->route[i]);
    if (one->name[0] == '\0')
        return false;
    one->workers = 1;
    one->oldest_started_ms = LOAD(s->started_ms);
    one->requests = LOAD(s->requests);
    one->status_4xx = LOAD(s->status_4xx);
    one->status_5xx = LOAD(s->status_5xx);
    one->latency_us_total = LOAD(s->latency_us_total);
    one->last_request_ms = LOAD(s->last_request_ms);
    add_pool(&one->pool, &s->pool);
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fleet_route_t *)a)->name, ((const fleet_route_t *)b)->name);
}

fleet_t *fleet_collect(void)
{
    const shared_segment_t *seg = budget_shared();
    fleet_t *fleet;

    if (seg == NULL || (fleet = calloc(1, sizeof *fleet)) == NULL)
        return NULL;
    for (int i = 0; i < SHARED_MAX_WORKERS; i++) {
        fleet_route_t one;
        int k = 0;
        if (!budget_slot_alive(&seg->slots[i]) || !read_slot(&seg->slots[i], &one))
            continue;
        while (k < fleet->nroutes && strcmp(fleet->routes[k].name, one.name) != 0)
            k++;
        if (k == fleet->nroutes) {
            memcpy(fleet->routes[k].name, one.name, sizeof one.name);
            fleet->nroutes++;
        }
        add_route(&fleet->routes[k], &one);
        add_route(&fleet->total, &one);
    }
    qsort(fleet->routes, (size_t)fleet->nroutes, sizeof fleet->routes[0], by_name);
    return fleet;
}

double fleet_mean_latency_ms(const fleet_route_t *r)
{
    return r->requests == 0 ? -1 : (double)r->latency_us_total / 1000.0 / (double)r->requests;
}

double fleet_5xx_percent(const fleet_route_t *r)
{
    return r->requests == 0 ? 0 : (double)r->status_5xx * 100.0 / (double)r->requests;
}

void fleet_route_json(cJSON *obj, const fleet_route_t *r)
{
    double latency = fleet_mean_latency_ms(r);

    cJSON_AddNumberToObject(obj, "workers", r->workers);
    cJSON_AddNumberToObject(obj, "requests", (double)r->requests);
    cJSON_AddNumberToObject(obj, "status_4xx", (double)r->status_4xx);
    cJSON_AddNumberToObject(obj, "status_5xx", (double)r->status_5xx);
    json_add_rounded(obj, "error_rate_5xx", fleet_5xx_percent(r), 2);
    if (latency < 0)
        cJSON_AddNullToObject(obj, "mean_latency_ms");
    else
        json_add_rounded(obj, "mean_latency_ms", latency, 2);
    if (r->oldest_started_ms > 0)
        json_add_time(obj, "started", r->oldest_started_ms);
    else
        cJSON_AddNullToObject(obj, "started");
    pool_figures_json(cJSON_AddObjectToObject(obj, "pool"), &r->pool);
}
