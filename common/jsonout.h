/* jsonout.h -- JSON output: a cJSON tree written to a text buffer.
 *
 * json_write's text is byte for byte what cJSON_PrintUnformatted gives (tests/unit/test_jsonout.c
 * compares the two), but a whole number or a figure of up to three decimals is written
 * without a printf and its strtod check, and the buffer is the caller's to reuse. A response
 * of a few dozen figures no longer costs a printf per number and an allocation per response. */
#ifndef ELOG_JSONOUT_H
#define ELOG_JSONOUT_H

#include <cjson/cJSON.h>

#include "textbuf.h"

/* Appends item's JSON text to out. Returns 0, or -1 when the tree holds an item cJSON would
 * refuse to print (an invalid type, a raw item without text) or memory ran out. */
int json_write(const cJSON *item, text_buf_t *out);

#endif
