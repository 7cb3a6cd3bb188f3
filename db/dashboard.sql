-- dashboard.sql -- what the reporting routes (metrics, dashboard_analytics, monitoring,
-- service_health, ml_lightweight) need beyond logs.sql: RFC 3339 formatting, exact rollups of
-- ml_predictions and of ERROR/FATAL messages with their count functions, and two indexes.
-- Part of schema.sql (\ir, inside its transaction); idempotent. Applied alone, run it as one
-- transaction (`psql -1 -f db/dashboard.sql`).
--
-- Why rollups: at a million rows a day, counting the day's predictions or grouping the day's
-- ~25,000 ERROR/FATAL rows by message reads every one of those rows on every request (0.2-0.5 s
-- each here). The rollups below are kept exact by statement-level triggers, in the manner of
-- logs.sql, so the routes read a few hundred rollup rows plus the partial edges instead.

SET client_min_messages = warning;

DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- RFC 3339 UTC text, whatever the session's TimeZone: milliseconds for data timestamps (the
-- API's format), microseconds for the bounds of a reporting window (so a client can repeat a
-- count over exactly the same window).
CREATE OR REPLACE FUNCTION utc_rfc3339(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION utc_rfc3339_us(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- ---------------------------------------------------------------------------------------------
-- ml_predictions rollups: one row per UTC minute / hour of predicted_at with the counts the
-- routes report. The severity columns follow ml_predictions_severity_check (critical, high,
-- medium, low, or none); high_anomalies is is_anomaly AND severity IN ('high', 'critical'),
-- the API's "high-severity anomaly".
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS ml_rollup_minute (
    bucket          timestamptz PRIMARY KEY,
    n               bigint NOT NULL,
    anomalies       bigint NOT NULL,
    high_anomalies  bigint NOT NULL,
    critical        bigint NOT NULL,
    high            bigint NOT NULL,
    medium          bigint NOT NULL,
    low             bigint NOT NULL,
    unrated         bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS ml_rollup_hour (LIKE ml_rollup_minute INCLUDING ALL);

-- conf_n / conf_sum: how many of the bucket's predictions have a level_confidence and their
-- sum (float8, as avg() adds them), for the average confidence of a window.
ALTER TABLE ml_rollup_minute ADD COLUMN IF NOT EXISTS conf_n bigint NOT NULL DEFAULT 0,
                             ADD COLUMN IF NOT EXISTS conf_sum double precision NOT NULL DEFAULT 0;
ALTER TABLE ml_rollup_hour ADD COLUMN IF NOT EXISTS conf_n bigint NOT NULL DEFAULT 0,
                           ADD COLUMN IF NOT EXISTS conf_sum double precision NOT NULL DEFAULT 0;

-- Adds per-minute deltas to both rollups (minute table first, keys in order, so concurrent
-- writers cannot deadlock on them) and deletes keys whose count fell to zero.
CREATE OR REPLACE FUNCTION ml_rollup_add(deltas ml_rollup_minute[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ml_rollup_minute AS r
    SELECT d.* FROM unnest(deltas) d ORDER BY d.bucket
    ON CONFLICT (bucket) DO UPDATE
       SET n = r.n + EXCLUDED.n, anomalies = r.anomalies + EXCLUDED.anomalies,
           high_anomalies = r.high_anomalies + EXCLUDED.high_anomalies,
           critical = r.critical + EXCLUDED.critical, high = r.high + EXCLUDED.high,
           medium = r.medium + EXCLUDED.medium, low = r.low + EXCLUDED.low,
           unrated = r.unrated + EXCLUDED.unrated, conf_n = r.conf_n + EXCLUDED.conf_n,
           conf_sum = r.conf_sum + EXCLUDED.conf_sum;

    INSERT INTO ml_rollup_hour AS r
    SELECT date_trunc('hour', d.bucket, 'UTC'), sum(d.n), sum(d.anomalies), sum(d.high_anomalies),
           sum(d.critical), sum(d.high), sum(d.medium), sum(d.low), sum(d.unrated),
           sum(d.conf_n), sum(d.conf_sum)
      FROM unnest(deltas) d
     GROUP BY 1 ORDER BY 1
    ON CONFLICT (bucket) DO UPDATE
       SET n = r.n + EXCLUDED.n, anomalies = r.anomalies + EXCLUDED.anomalies,
           high_anomalies = r.high_anomalies + EXCLUDED.high_anomalies,
           critical = r.critical + EXCLUDED.critical, high = r.high + EXCLUDED.high,
           medium = r.medium + EXCLUDED.medium, low = r.low + EXCLUDED.low,
           unrated = r.unrated + EXCLUDED.unrated, conf_n = r.conf_n + EXCLUDED.conf_n,
           conf_sum = r.conf_sum + EXCLUDED.conf_sum;

    DELETE FROM ml_rollup_minute r USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = d.bucket;

    DELETE FROM ml_rollup_hour r USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = date_trunc('hour', d.bucket, 'UTC');
$$;

-- The one definition of the rollup's counts: prediction rows grouped by UTC minute, signed
-- (+1 for rows added, -1 for rows removed). Used by the triggers on their transition tables, by
-- the backfill and by ml_counts() for the partial minutes at a window's edges.
CREATE OR REPLACE FUNCTION ml_rollup_group(rows_in ml_predictions[], sign integer)
RETURNS SETOF ml_rollup_minute
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT date_trunc('minute', r.predicted_at, 'UTC'), sign * count(*),
           sign * count(*) FILTER (WHERE r.is_anomaly),
           sign * count(*) FILTER (WHERE r.is_anomaly AND r.severity IN ('high', 'critical')),
           sign * count(*) FILTER (WHERE r.severity = 'critical'),
           sign * count(*) FILTER (WHERE r.severity = 'high'),
           sign * count(*) FILTER (WHERE r.severity = 'medium'),
           sign * count(*) FILTER (WHERE r.severity = 'low'),
           sign * count(*) FILTER (WHERE r.severity IS NULL),
           sign * count(r.level_confidence),
           sign * coalesce(sum(r.level_confidence::double precision), 0)
      FROM unnest(rows_in) r
     GROUP BY 1
$$;

CREATE OR REPLACE FUNCTION ml_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_rollup_add(ARRAY(
        SELECT g FROM ml_rollup_group(ARRAY(SELECT t::ml_predictions FROM ml_rollup_new t), 1) g));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ml_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_rollup_add(ARRAY(
        SELECT g FROM ml_rollup_group(ARRAY(SELECT t::ml_predictions FROM ml_rollup_old t), -1) g));
    RETURN NULL;
END
$$;

-- An upsert (INSERT ... ON CONFLICT DO UPDATE) fires this for the rows it updated. The new and
-- old counts of each minute are netted; minutes that net to nothing are left alone.
CREATE OR REPLACE FUNCTION ml_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_rollup_add(ARRAY(
        SELECT ROW(d.bucket, sum(d.n), sum(d.anomalies), sum(d.high_anomalies), sum(d.critical),
                   sum(d.high), sum(d.medium), sum(d.low), sum(d.unrated), sum(d.conf_n),
                   sum(d.conf_sum))::ml_rollup_minute
          FROM (SELECT * FROM ml_rollup_group(
                        ARRAY(SELECT t::ml_predictions FROM ml_rollup_new t), 1)
                UNION ALL
                SELECT * FROM ml_rollup_group(
                        ARRAY(SELECT t::ml_predictions FROM ml_rollup_old t), -1)) d
         GROUP BY d.bucket
        HAVING sum(d.n) <> 0 OR sum(d.anomalies) <> 0 OR sum(d.high_anomalies) <> 0
            OR sum(d.critical) <> 0 OR sum(d.high) <> 0 OR sum(d.medium) <> 0
            OR sum(d.low) <> 0 OR sum(d.unrated) <> 0 OR sum(d.conf_n) <> 0
            OR sum(d.conf_sum) <> 0));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ml_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE ml_rollup_minute, ml_rollup_hour;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER ml_rollup_insert
    AFTER INSERT ON ml_predictions REFERENCING NEW TABLE AS ml_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION ml_rollup_on_insert();

CREATE OR REPLACE TRIGGER ml_rollup_delete
    AFTER DELETE ON ml_predictions REFERENCING OLD TABLE AS ml_rollup_old
    FOR EACH STATEMENT EXECUTE FUNCTION ml_rollup_on_delete();

CREATE OR REPLACE TRIGGER ml_rollup_update
    AFTER UPDATE ON ml_predictions REFERENCING OLD TABLE AS ml_rollup_old NEW TABLE AS ml_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION ml_rollup_on_update();

CREATE OR REPLACE TRIGGER ml_rollup_truncate
    AFTER TRUNCATE ON ml_predictions
    FOR EACH STATEMENT EXECUTE FUNCTION ml_rollup_on_truncate();

-- Backfill when the rollups do not add up to the table (rows from before the triggers).
DO $$
DECLARE
    lo integer;
BEGIN
    LOCK TABLE ml_predictions IN SHARE MODE;
    IF (SELECT count(*) FROM ml_predictions) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM ml_rollup_minute)
       OR (SELECT coalesce(sum(n), 0) FROM ml_rollup_minute) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM ml_rollup_hour)
       OR (SELECT count(level_confidence) FROM ml_predictions) IS DISTINCT FROM
           (SELECT coalesce(sum(conf_n), 0) FROM ml_rollup_minute) THEN
        TRUNCATE ml_rollup_minute, ml_rollup_hour;
        -- In slices of ids, so that no array grows with the table.
        FOR lo IN SELECT s FROM generate_series(0, (SELECT coalesce(max(id), 0)
                                                      FROM ml_predictions), 100000) s LOOP
            PERFORM ml_rollup_add(ARRAY(
                SELECT g FROM ml_rollup_group(ARRAY(
                    SELECT p FROM ml_predictions p WHERE p.id >= lo AND p.id < lo + 100000), 1) g));
        END LOOP;
    END IF;
END
$$;

-- ml_counts(p_from, p_to): exact counts of the predictions with predicted_at in
-- [p_from, p_to), as one row, with conf_n / conf_sum for their average level_confidence.
-- Whole hours from the hour rollup, whole minutes around them from the minute rollup, partial
-- minutes at the edges from ml_predictions (its predicted_at index); the bounds are
-- rollup_bounds()'s. Infinite bounds work; an empty range gives zeros.
DROP FUNCTION IF EXISTS ml_counts(timestamptz, timestamptz);
CREATE FUNCTION ml_counts(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (n bigint, anomalies bigint, high_anomalies bigint, critical bigint, high bigint,
               medium bigint, low bigint, unrated bigint, conf_n bigint,
               conf_sum double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    k record;
BEGIN
    SELECT * INTO k FROM rollup_bounds(p_from, p_to);
    RETURN QUERY
    SELECT coalesce(sum(u.n), 0)::bigint, coalesce(sum(u.anomalies), 0)::bigint,
           coalesce(sum(u.high_anomalies), 0)::bigint, coalesce(sum(u.critical), 0)::bigint,
           coalesce(sum(u.high), 0)::bigint, coalesce(sum(u.medium), 0)::bigint,
           coalesce(sum(u.low), 0)::bigint, coalesce(sum(u.unrated), 0)::bigint,
           coalesce(sum(u.conf_n), 0)::bigint, coalesce(sum(u.conf_sum), 0)
      FROM (
               SELECT h.n, h.anomalies, h.high_anomalies, h.critical, h.high, h.medium, h.low,
                      h.unrated, h.conf_n, h.conf_sum
                 FROM ml_rollup_hour h
                WHERE h.bucket >= k.h1 AND h.bucket < k.h2
               UNION ALL
               SELECT m.n, m.anomalies, m.high_anomalies, m.critical, m.high, m.medium, m.low,
                      m.unrated, m.conf_n, m.conf_sum
                 FROM ml_rollup_minute m
                WHERE (m.bucket >= k.m1 AND m.bucket < k.h1)
                   OR (m.bucket >= k.h2 AND m.bucket < k.m2)
               UNION ALL
               SELECT g.n, g.anomalies, g.high_anomalies, g.critical, g.high, g.medium, g.low,
                      g.unrated, g.conf_n, g.conf_sum
                 FROM ml_rollup_group(ARRAY(
                          SELECT p FROM ml_predictions p
                           WHERE (p.predicted_at >= p_from AND p.predicted_at < k.m1)
                              OR (p.predicted_at >= k.m2 AND p.predicted_at < p_to)), 1) g
           ) u;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- ERROR/FATAL messages per UTC minute and per UTC hour: what /api/dashboard_analytics classifies
-- into error types. Keyed by the message's md5 (a message may be longer than an index entry
-- allows); the text is kept beside it.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS log_error_rollup_hour (
    bucket      timestamptz NOT NULL,
    message_md5 text NOT NULL,
    message     text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (bucket, message_md5)
);
CREATE TABLE IF NOT EXISTS log_error_rollup_minute (LIKE log_error_rollup_hour INCLUDING ALL);

-- Adds signed per-minute message counts (rows of (minute, md5, message, n)) to both rollups,
-- keys in order, minute table first, and deletes keys that fell to zero.
CREATE OR REPLACE FUNCTION log_error_rollup_add(deltas log_error_rollup_hour[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO log_error_rollup_minute AS r
    SELECT d.bucket, d.message_md5, min(d.message), sum(d.n)
      FROM unnest(deltas) d
     GROUP BY d.bucket, d.message_md5
    HAVING sum(d.n) <> 0
     ORDER BY d.bucket, d.message_md5
    ON CONFLICT (bucket, message_md5) DO UPDATE SET n = r.n + EXCLUDED.n;

    INSERT INTO log_error_rollup_hour AS r
    SELECT date_trunc('hour', d.bucket, 'UTC'), d.message_md5, min(d.message), sum(d.n)
      FROM unnest(deltas) d
     GROUP BY 1, 2
    HAVING sum(d.n) <> 0
     ORDER BY 1, 2
    ON CONFLICT (bucket, message_md5) DO UPDATE SET n = r.n + EXCLUDED.n;

    DELETE FROM log_error_rollup_minute r USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = d.bucket AND r.message_md5 = d.message_md5;

    DELETE FROM log_error_rollup_hour r USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = date_trunc('hour', d.bucket, 'UTC')
       AND r.message_md5 = d.message_md5;
$$;

CREATE OR REPLACE FUNCTION log_error_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_error_rollup_add(ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), md5(t.message), t.message,
                   1)::log_error_rollup_hour
          FROM log_error_rollup_new t WHERE t.level IN ('ERROR', 'FATAL')));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_error_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_error_rollup_add(ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), md5(t.message), t.message,
                   -1)::log_error_rollup_hour
          FROM log_error_rollup_old t WHERE t.level IN ('ERROR', 'FATAL')));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_error_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_error_rollup_add(ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), md5(t.message), t.message,
                   1)::log_error_rollup_hour
          FROM log_error_rollup_new t WHERE t.level IN ('ERROR', 'FATAL')
        UNION ALL
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), md5(t.message), t.message,
                   -1)::log_error_rollup_hour
          FROM log_error_rollup_old t WHERE t.level IN ('ERROR', 'FATAL')));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_error_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE log_error_rollup_minute, log_error_rollup_hour;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER log_error_rollup_insert
    AFTER INSERT ON log_entries REFERENCING NEW TABLE AS log_error_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION log_error_rollup_on_insert();

CREATE OR REPLACE TRIGGER log_error_rollup_delete
    AFTER DELETE ON log_entries REFERENCING OLD TABLE AS log_error_rollup_old
    FOR EACH STATEMENT EXECUTE FUNCTION log_error_rollup_on_delete();

CREATE OR REPLACE TRIGGER log_error_rollup_update
    AFTER UPDATE ON log_entries
    REFERENCING OLD TABLE AS log_error_rollup_old NEW TABLE AS log_error_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION log_error_rollup_on_update();

CREATE OR REPLACE TRIGGER log_error_rollup_truncate
    AFTER TRUNCATE ON log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION log_error_rollup_on_truncate();

-- Backfill: rollups whose totals differ from the table (rows from before the triggers, or a
-- database from before the minute level) are rebuilt, with writers locked out meanwhile.
DO $$
BEGIN
    LOCK TABLE log_entries IN SHARE MODE;
    IF (SELECT count(*) FROM log_entries WHERE level IN ('ERROR', 'FATAL')) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM log_error_rollup_hour)
       OR (SELECT coalesce(sum(n), 0) FROM log_error_rollup_hour) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM log_error_rollup_minute) THEN
        TRUNCATE log_error_rollup_minute, log_error_rollup_hour;
        INSERT INTO log_error_rollup_minute
        SELECT date_trunc('minute', e."timestamp", 'UTC'), md5(e.message), min(e.message),
               count(*)
          FROM log_entries e WHERE e.level IN ('ERROR', 'FATAL')
         GROUP BY 1, 2;
        INSERT INTO log_error_rollup_hour
        SELECT date_trunc('hour', m.bucket, 'UTC'), m.message_md5, min(m.message), sum(m.n)
          FROM log_error_rollup_minute m
         GROUP BY 1, 2;
    END IF;
END
$$;

-- error_message_counts(p_from, p_to): exact ERROR/FATAL counts per message for "timestamp" in
-- [p_from, p_to). Whole UTC hours come from the hour rollup, the whole minutes around them
-- from the minute rollup (rollup_bounds(), as log_window()), the partial minutes at the edges
-- from log_entries, grouped by text so that each distinct message is hashed once. At 1M rows
-- over 24 h, a ragged 24 h window: Index Scans on both rollups' primary keys (~23 x 13 hour
-- rows, ~60 x 13 minute rows) and a Bitmap Heap Scan of log_entries_level_timestamp_idx for
-- the ~20 ERROR/FATAL rows of the edges; 0.55 ms a call. With the hour rollup alone, the
-- partial hours at the edges were read from log_entries (~600 rows on ~500 heap pages, 3.8 ms).
CREATE OR REPLACE FUNCTION error_message_counts(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (message text, n bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 20 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    k record;
BEGIN
    SELECT * INTO k FROM rollup_bounds(p_from, p_to);
    RETURN QUERY
    SELECT min(u.message), sum(u.n)::bigint
      FROM (SELECT r.message_md5 AS md5, r.message, r.n
              FROM log_error_rollup_hour r
             WHERE r.bucket >= k.h1 AND r.bucket < k.h2
            UNION ALL
            SELECT r.message_md5, r.message, r.n
              FROM log_error_rollup_minute r
             WHERE r.bucket >= k.m1 AND r.bucket < k.h1
            UNION ALL
            SELECT r.message_md5, r.message, r.n
              FROM log_error_rollup_minute r
             WHERE r.bucket >= k.h2 AND r.bucket < k.m2
            UNION ALL
            SELECT md5(g.message), g.message, g.n
              FROM (SELECT e.message, count(*) AS n
                      FROM log_entries e
                     WHERE e.level IN ('ERROR', 'FATAL')
                       AND ((e."timestamp" >= p_from AND e."timestamp" < k.m1)
                            OR (e."timestamp" >= k.m2 AND e."timestamp" < p_to))
                     GROUP BY e.message) g
           ) u
     GROUP BY u.md5
    HAVING sum(u.n) > 0;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Indexes (chosen by EXPLAIN at a million rows a day).
-- ---------------------------------------------------------------------------------------------

-- /api/ml_lightweight analyze: the latest predictions in (predicted_at, id) order. A batch
-- stamps thousands of predictions with one predicted_at, so an index on predicted_at alone
-- leaves a sort by id over all of them. (It makes ml_predictions_predicted_at_idx redundant.)
CREATE INDEX IF NOT EXISTS ml_predictions_predicted_at_id_idx
    ON ml_predictions (predicted_at, id);

-- /api/monitoring ml_alerts: the latest high-severity anomalies, a small slice of predictions.
CREATE INDEX IF NOT EXISTS ml_predictions_alert_predicted_at_idx
    ON ml_predictions (predicted_at, id)
    WHERE is_anomaly AND severity IN ('high', 'critical');
