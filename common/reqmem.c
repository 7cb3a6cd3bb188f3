/* reqmem.c -- a worker's JSON memory: one arena a request, emptied when the request ends. */
#include "reqmem.h"

#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#define CHUNK_SIZE (64 * 1024)
#define BIG_BLOCK 4096 /* larger blocks come from malloc */
#define ALIGN 16

/* Every block starts with this header, so that a free knows where the block came from. */
typedef struct {
    uint32_t from_heap;
    uint32_t pad[3];
} header_t;

typedef struct chunk {
    struct chunk *next;
    size_t used;
    _Alignas(ALIGN) unsigned char data[CHUNK_SIZE];
} chunk_t;

static chunk_t *first, *current;

static void *from_heap(size_t n)
{
    header_t *h = malloc(sizeof *h + n);
    if (h == NULL)
        return NULL;
    h->from_heap = 1;
    return h + 1;
}

static void *arena_alloc(size_t n)
{
    size_t need = sizeof(header_t) + ((n + ALIGN - 1) & ~(size_t)(ALIGN - 1));
    header_t *h;

    if (n > BIG_BLOCK)
        return from_heap(n);
    if (current == NULL || current->used + need > CHUNK_SIZE) {
        chunk_t *c = malloc(sizeof *c);
        if (c == NULL)
            return from_heap(n);
        c->next = NULL;
        c->used = 0;
        if (current != NULL)
            current->next = c;
        else
            first = c;
        current = c;
    }
    h = (header_t *)(current->data + current->used);
    h->from_heap = 0;
    current->used += need;
    return h + 1;
}

static void arena_free(void *p)
{
    header_t *h;

    if (p == NULL)
        return;
    h = (header_t *)p - 1;
    if (h->from_heap)
        free(h);
}

/* Under AddressSanitizer cJSON keeps malloc, so that every block stays visible to it. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ON 0
#else
#define ARENA_ON 1
#endif

void reqmem_install(void)
{
    cJSON_Hooks hooks = {.malloc_fn = arena_alloc, .free_fn = arena_free};
    if (ARENA_ON)
        cJSON_InitHooks(&hooks);
}

void reqmem_reset(void)
{
    chunk_t *c, *next;

    if (first == NULL)
        return;
    for (c = first->next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    first->next = NULL;
    first->used = 0;
    current = first;
}

size_t reqmem_used(void)
{
    size_t total = 0;
    for (const chunk_t *c = first; c != NULL; c = c->next)
        total += c->used;
    return total;
}

int reqmem_chunks(void)
{
    int n = 0;
    for (const chunk_t *c = first; c != NULL; c = c->next)
        n++;
    return n;
}
