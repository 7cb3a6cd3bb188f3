/* reqmem.h -- a worker's JSON memory: one arena a request, emptied when the request ends.
 *
 * A response of a few dozen figures is a tree of about a hundred cJSON items, and a page of
 * logs one of thousands; from malloc each item costs an allocation and a free, and the frees
 * of a whole tree at once push glibc into consolidating its free lists at the next large
 * allocation. Once reqmem_install() has run, cJSON takes its memory from an arena instead:
 * blocks are cut from 64 KiB chunks, freeing one does nothing, and reqmem_reset() after the
 * request empties the arena, keeping one chunk for the next request and returning the rest.
 * Blocks over 4 KiB still come from malloc and go back at once.
 *
 * Nothing built with cJSON may outlive the request it was built in (no worker keeps one).
 * Under AddressSanitizer the arena stays off, so that the sanitizer still sees every block. */
#ifndef ELOG_REQMEM_H
#define ELOG_REQMEM_H

#include <stddef.h>

/* Points cJSON's allocator at the arena. */
void reqmem_install(void);

/* Ends a request: every arena block is given up. */
void reqmem_reset(void);

/* The arena's own figures, for tests: bytes cut from chunks since the last reset, and the
 * chunks held. */
size_t reqmem_used(void);
int reqmem_chunks(void);

#endif
