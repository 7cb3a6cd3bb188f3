/* timeutil.h -- clocks and RFC 3339 timestamps. */
#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, milliseconds since the epoch. */
int64_t time_now_ms(void);

/* Monotonic clock, microseconds; for durations and deadlines only. */
int64_t time_mono_us(void);

/* Writes e.g. "2025-10-18T15:04:05.123Z" (UTC) into buf; returns buf. */
char *time_format_rfc3339(int64_t epoch_ms, char *buf, size_t len);

/* Parses an RFC 3339 timestamp (Z or +hh:mm offset, optional fraction) into epoch ms.
 * Offsets are limited to +-15:59, as PostgreSQL accepts. Returns 0 on success, -1 if the text
 * is not a valid timestamp. */
int time_parse_rfc3339(const char *text, int64_t *epoch_ms);

#endif
