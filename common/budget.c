/* budget.c -- the host-wide connection budget (a SysV semaphore) and the shared segment of
 * worker figures (SysV shared memory). Ids live in <run_dir>/ipc so that two stacks on one
 * host never share a budget by accident. */
#include "budget.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

#define SHARED_MAGIC 0x454c4f47u

const char *const close_reason_names[CLOSE_REASONS] = {
    "idle_timeout",   "lifetime",       "server_closed",     "ping_failed", "fatal_sqlstate",
    "dirty_release",  "query_deadline", "budget_contended",  "shutdown",    "no_reuse",
};

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int sem_id = -1;
static shared_segment_t *shared;
static worker_slot_t *my_slot;
static worker_slot_t local_slot;

static int ipc_path(const char *run_dir, char *path, size_t len)
{
    int n = snprintf(path, len, "%s/ipc", run_dir);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int read_ids(const char *run_dir, int *semid, int *shmid)
{
    char path[4096];
    FILE *f;
    int n;

    if (ipc_path(run_dir, path, sizeof path) != 0 || (f = fopen(path, "r")) == NULL)
        return -1;
    n = fscanf(f, "%d %d", semid, shmid);
    fclose(f);
    return n == 2 ? 0 : -1;
}

int budget_remove(const char *run_dir, char *err, size_t errlen)
{
    int semid, shmid;
    char path[4096];

    if (read_ids(run_dir, &semid, &shmid) != 0) {
        snprintf(err, errlen, "no budget recorded in %s", run_dir);
        return -1;
    }
    semctl(semid, 0, IPC_RMID);
    shmctl(shmid, IPC_RMID, NULL);
    if (ipc_path(run_dir, path, sizeof path) == 0)
        unlink(path);
    return 0;
}

int budget_create(const char *run_dir, int budget, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    union semun arg;
    shared_segment_t *seg;
    int semid, shmid;
    FILE *f;

    budget_remove(run_dir, err, errlen);
    semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    shmid = shmget(IPC_PRIVATE, sizeof(shared_segment_t), IPC_CREAT | 0600);
    if (semid < 0 || shmid < 0) {
        snprintf(err, errlen, "cannot create the budget semaphore or segment: %s",
                 strerror(errno));
        goto fail;
    }
    arg.val = budget;
    if (semctl(semid, 0, SETVAL, arg) != 0) {
        snprintf(err, errlen, "cannot set the budget: %s", strerror(errno));
        goto fail;
    }
    seg = shmat(shmid, NULL, 0);
    if (seg == (void *)-1) {
        snprintf(err, errlen, "cannot attach the segment: %s", strerror(errno));
        goto fail;
    }
    memset(seg, 0, sizeof *seg);
    seg->budget = budget;
    seg->created_ms = time_now_ms();
    __atomic_store_n(&seg->magic, SHARED_MAGIC, __ATOMIC_RELEASE);
    shmdt(seg);
    if (ipc_path(run_dir, path, sizeof path) != 0)
        goto fail;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d %d\n", semid, shmid) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (semid >= 0)
        semctl(semid, 0, IPC_RMID);
    if (shmid >= 0)
        shmctl(shmid, IPC_RMID, NULL);
    return -1;
}

int budget_attach(const char *run_dir, char *err, size_t errlen)
{
    int semid, shmid;
    shared_segment_t *seg;

    if (read_ids(run_dir, &semid, &shmid) != 0) {
        snprintf(err, errlen, "no connection budget in %s/ipc (start the stack with make run)",
                 run_dir);
        return -1;
    }
    seg = shmat(shmid, NULL, 0);
    if (seg == (void *)-1 || __atomic_load_n(&seg->magic, __ATOMIC_ACQUIRE) != SHARED_MAGIC) {
        snprintf(err, errlen, "cannot attach the shared segment: %s", strerror(errno));
        return -1;
    }
    sem_id = semid;
    shared = seg;
    return 0;
}

bool budget_attached(void)
{
    return shared != NULL;
}

/* The waiter count is semaphore 1, moved with SEM_UNDO so that a worker killed while waiting
 * does not leave a waiter behind that would make every other worker give back forever. */
static void waiter_adjust(int delta)
{
    struct sembuf op = {1, (short)delta, SEM_UNDO};
    while (semop(sem_id, &op, 1) != 0 && errno == EINTR)
        ;
}

int budget_take(int timeout_ms)
{
    struct sembuf op = {0, -1, SEM_UNDO};
    struct timespec ts;
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    int rc;

    if (shared == NULL)
        return 0;
    /* Fast path: no waiting, so no waiter to announce. */
    op.sem_flg = SEM_UNDO | IPC_NOWAIT;
    if (semop(sem_id, &op, 1) == 0)
        return 0;
    if (errno != EAGAIN || timeout_ms <= 0)
        return -1;
    op.sem_flg = SEM_UNDO;
    waiter_adjust(1);
    for (;;) {
        int64_t left = deadline - time_mono_us();
        if (left <= 0) {
            rc = -1;
            break;
        }
        ts.tv_sec = left / 1000000;
        ts.tv_nsec = (left % 1000000) * 1000;
        rc = semtimedop(sem_id, &op, 1, &ts);
        if (rc == 0 || errno != EINTR)
            break;
    }
    waiter_adjust(-1);
    return rc == 0 ? 1 : -1;
}

void budget_give(void)
{
    struct sembuf op = {0, 1, SEM_UNDO};
    if (shared != NULL)
        while (semop(sem_id, &op, 1) != 0 && errno == EINTR)
            ;
}

int budget_in_use(void)
{
    int free_slots;
    if (shared == NULL)
        return -1;
    free_slots = semctl(sem_id, 0, GETVAL);
    return free_slots < 0 ? -1 : shared->budget - free_slots;
}

int budget_waiters(void)
{
    return shared == NULL ? -1 : semctl(sem_id, 1, GETVAL);
}

int budget_usage(int *in_use, int *waiting)
{
    unsigned short values[2];
    union semun arg = {.array = values};

    *in_use = *waiting = -1;
    if (shared == NULL || semctl(sem_id, 0, GETALL, arg) != 0)
        return -1;
    *in_use = shared->budget - values[0];
    *waiting = values[1];
    return 0;
}

int budget_limit(void)
{
    return shared == NULL ? -1 : shared->budget;
}

const shared_segment_t *budget_shared(void)
{
    return shared;
}

bool budget_slot_alive(const worker_slot_t *slot)
{
    int32_t pid = __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE);
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* True while a backend recorded by a dead worker still runs. */
static bool backend_alive(int32_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* A dead worker's slot may be taken over once none of its backends is left. A worker killed
 * in the middle of a connect leaves a backend whose pid it never learnt: that one is given
 * the grace a server needs to notice the closed socket. */
static bool slot_reclaimable(worker_slot_t *s)
{
    int64_t since = __atomic_load_n(&s->connecting_since_us, __ATOMIC_RELAXED);
    if (since != 0 && time_mono_us() - since < CONNECT_GRACE_US)
        return false;
    for (int k = 0; k < SHARED_MAX_CONNS; k++) {
        int32_t bp = __atomic_load_n(&s->backend_pids[k], __ATOMIC_RELAXED);
        if (bp != 0 && backend_alive(bp))
            return false;
    }
    return true;
}

int budget_reap_dead(int64_t deadline_us)
{
    for (int i = 0; shared != NULL && i < SHARED_MAX_WORKERS; i++) {
        worker_slot_t *s = &shared->slots[i];
        int32_t pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
        if (pid == 0 || budget_slot_alive(s))
            continue;
        while (!slot_reclaimable(s)) {
            if (time_mono_us() >= deadline_us)
                return -1;
            usleep(1000);
        }
        memset(s->backend_pids, 0, sizeof s->backend_pids);
        s->connecting_since_us = 0;
        __atomic_store_n(&s->pool.open, 0, __ATOMIC_RELAXED);
        __atomic_compare_exchange_n(&s->pid, &pid, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    }
    return 0;
}

worker_slot_t *budget_claim_slot(const char *route)
{
    int32_t me = (int32_t)getpid();

    my_slot = NULL;
    for (int i = 0; shared != NULL && i < SHARED_MAX_WORKERS && my_slot == NULL; i++) {
        worker_slot_t *s = &shared->slots[i];
        int32_t old = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
        /* A slot is free when unused or when its process died and its backends are gone. */
        if (old != 0 && (budget_slot_alive(s) || !slot_reclaimable(s)))
            continue;
        if (__atomic_compare_exchange_n(&s->pid, &old, me, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            my_slot = s;
    }
    if (my_slot == NULL) {
        my_slot = &local_slot;
        my_slot->pid = me;
    }
    memset((char *)my_slot + sizeof my_slot->pid, 0, sizeof *my_slot - sizeof my_slot->pid);
    snprintf(my_slot->route, sizeof my_slot->route, "%s", route);
    my_slot->started_ms = time_now_ms();
    return my_slot;
}

void budget_release_slot(void)
{
    if (my_slot != NULL && my_slot != &local_slot)
        __atomic_store_n(&my_slot->pid, 0, __ATOMIC_RELEASE);
    my_slot = NULL;
}
