/* scoring.h -- the deterministic ML models: severity rules-v1 and anomaly stats-v1 */
#ifndef SCORING_H
#define SCORING_H

#include <stdbool.h>

#define SEVERITY_MODEL_VERSION "rules-v1"
#define ANOMALY_MODEL_VERSION "stats-v1"

/* Severity label thresholds on the points sum (label = highest threshold reached). */
#define SEVERITY_CRITICAL_MIN 90
#define SEVERITY_HIGH_MIN 65
#define SEVERITY_MEDIUM_MIN 38

/* An entry is an anomaly when its score reaches this. */
#define ANOMALY_THRESHOLD 0.7

/* One log entry as severity rules-v1 sees it. Strings may be NULL; NULL and "" both mean
 * "none". Neither pointer is kept. */
typedef struct scoring_input {
    const char *service;
    const char *source_type; /* used for the service factor when service is none */
    const char *level;
    const char *message;
    const char *endpoint;
    int http_status;         /* 0 = none */
    double response_time_ms; /* negative = none */
    bool is_anomaly;
} scoring_input_t;

/* Points of rules-v1 for in, per the table in scoring.c (0..115, after halving when the
 * service contains test/dev/debug/staging). in must not be NULL. */
int severity_points(const scoring_input_t *in);

/* "critical", "high", "medium" or "low" for a points sum; a static string. */
const char *severity_label(int points);

/* Confidence in severity_label(points), in [0.55, 1.0]: 0.5 + 0.05 * margin, margin being the
 * number of points the sum would have to move to change label, capped at 10. For example
 * 38 (lowest medium) and 37 (highest low) both give 0.55; 51, 99 and above give 1.0. */
double severity_confidence(int points);

/* The entry fields anomaly stats-v1 reads itself; the rest comes in anomaly_context_t. */
typedef struct anomaly_entry {
    const char *message;     /* NULL = "" */
    const char *ip;          /* NULL when the entry has no IP: the never-seen-IP rule is skipped */
    double response_time_ms; /* negative = none: the performance aspect is skipped */
} anomaly_entry_t;

/* Statistics of the comparison window (last 24 h), measured by the caller. Whether the counts
 * include the scored entry itself is the caller's choice; make it the same for every entry. */
typedef struct anomaly_context {
    long total;         /* rows in the window; 0 skips the share rules and the IP rule */
    long hour_count;    /* rows whose UTC hour of day equals the entry's (counts: 0..total) */
    long source_count;  /* rows with the entry's host and source_type */
    bool ip_seen;       /* the entry's IP appears in the window */
    long message_count; /* rows with exactly the entry's message */
    double rt_mean;     /* mean response_time_ms over rows that have one */
    double rt_stddev;   /* its standard deviation; not positive skips the performance aspect */
} anomaly_context_t;

typedef struct anomaly_result {
    double score;     /* in [0, 1]: the largest aspect */
    bool is_anomaly;  /* score >= ANOMALY_THRESHOLD */
    const char *type; /* winning aspect: "timing", "source", "content", "performance",
                         "security", or "none" when score is 0; static */
} anomaly_result_t;

/* Scores entry against ctx with the rules in scoring.c. Neither pointer may be NULL. */
anomaly_result_t anomaly_score(const anomaly_entry_t *entry, const anomaly_context_t *ctx);

/* Confidence in the is_anomaly decision for a score, in [0.5, 1.0]: 0.5 + 0.5 * distance from
 * ANOMALY_THRESHOLD divided by the distance from the threshold to the end of the score range
 * on that side (0.7 for scores below, 0.3 for scores at or above). */
double anomaly_confidence(double score);

#endif
