/* log.h -- leveled logging to stderr, one line per event. */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the threshold from a name ("debug", "info", "warn", "error"); returns -1 if unknown. */
int log_set_level(const char *name);

/* Prefix every line with this tag (the route name); the string must outlive the process. */
void log_set_tag(const char *tag);

/* From log_hold() to log_release(), lines are kept and then written together, in one write
 * (the worker holds the access lines of a batch of requests until the batch is answered,
 * just before the answers leave). A warning or an error is written at once, after the
 * lines held before it. */
void log_hold(void);
void log_release(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
