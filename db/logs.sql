-- logs.sql -- the exact per-minute and per-hour tallies of log_entries, log_window() and its
-- views log_tally() / log_rt(), and the indexes of /api/logs. Part of schema.sql (\ir);
-- idempotent.
--
-- It has no BEGIN/COMMIT of its own: schema.sql includes it inside its transaction. Applied
-- alone, run it as one transaction (`psql -1 -f db/logs.sql`); each statement is also safe on
-- its own, because the backfill locks out writers and re-checks.

SET client_min_messages = warning;

-- Same key as schema.sql: concurrent applications of the schema serialise.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- ---------------------------------------------------------------------------------------------
-- Tallies: one row per UTC minute (log_tally_minute) and per UTC hour (log_tally_hour) with
-- the number of rows of each of the 30 keys (level x source_type x is_anomaly), column n<i>
-- for key i of log_tally_key, and count / sum / sum of squares of response_time_ms over the
-- bucket's rows that have one, so callers derive means and deviations exactly. Statement
-- triggers keep them exact on every insert, update, delete and truncate, in the writer's
-- transaction. A 24-hour window is then ~23 hour rows + up to ~118 minute rows + the two
-- partial minutes read from log_entries: 0.35 ms at 1M rows over 24 h.
--
-- The 30 columns, the upsert and the reader are generated from log_tally_key below, so adding
-- an enum value means re-running this file.
-- ---------------------------------------------------------------------------------------------

-- What one statement changed in one minute for one key: the triggers' deltas (negative for
-- removed rows).
DO $$
BEGIN
    IF to_regtype('log_delta') IS NULL THEN
        CREATE TYPE log_delta AS (
            bucket      timestamptz,
            level       log_level,
            source_type source_type,
            is_anomaly  boolean,
            n           bigint,
            rt_n        bigint,
            rt_sum      numeric,
            rt_sumsq    numeric);
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS log_tally_key (
    i           integer PRIMARY KEY,
    level       log_level NOT NULL,
    source_type source_type NOT NULL,
    is_anomaly  boolean NOT NULL,
    UNIQUE (level, source_type, is_anomaly)
);
INSERT INTO log_tally_key
SELECT (row_number() OVER (ORDER BY l, s, a) - 1)::integer, l, s, a
  FROM unnest(enum_range(NULL::log_level)) l, unnest(enum_range(NULL::source_type)) s,
       unnest(ARRAY[false, true]) a
ON CONFLICT DO NOTHING;

-- The narrow per-key rollups that the tallies replaced (one row per bucket and key, kept in
-- parallel until this version).
DROP FUNCTION IF EXISTS log_counts(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS log_tally_add(log_rollup_minute[]);
DROP FUNCTION IF EXISTS log_rollup_add(log_rollup_minute[]);
DROP TABLE IF EXISTS log_rollup_minute, log_rollup_hour;

-- rollup_bounds(p_from, p_to): how [p_from, p_to) splits for every rollup reader:
-- [p_from, m1) and [m2, p_to) are partial minutes read from the base table, [m1, h1) and
-- [h2, m2) whole minutes, [h1, h2) whole hours. m1 = p_from rounded up to a minute, m2 = p_to
-- rounded down; without a whole minute in between, m1 = m2 = p_to and the raw scan covers
-- everything. h1, h2 likewise in hours within [m1, m2), else h1 = h2 = m2. LANGUAGE sql,
-- so it is inlined into the readers' queries.
CREATE OR REPLACE FUNCTION rollup_bounds(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (m1 timestamptz, m2 timestamptz, h1 timestamptz, h2 timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.m1, b.m2,
           CASE WHEN b.h1 < b.h2 THEN b.h1 ELSE b.m2 END,
           CASE WHEN b.h1 < b.h2 THEN b.h2 ELSE b.m2 END
      FROM (SELECT a.m1, a.m2,
                   date_trunc('hour', a.m1 + interval '1 hour' - interval '1 microsecond',
                              'UTC') AS h1,
                   date_trunc('hour', a.m2, 'UTC') AS h2
              FROM (SELECT CASE WHEN c.up < c.down THEN c.up ELSE p_to END AS m1,
                           CASE WHEN c.up < c.down THEN c.down ELSE p_to END AS m2
                      FROM (SELECT date_trunc('minute', p_from + interval '1 minute'
                                              - interval '1 microsecond', 'UTC') AS up,
                                   date_trunc('minute', p_to, 'UTC') AS down) c
                   ) a
           ) b
$$;

-- Planning: the readers (log_window, ml_counts, error_message_counts) are PL/pgSQL with
-- plan_cache_mode = force_generic_plan, so each session plans their query once and then runs
-- the cached plan: every choice in it is a range scan on a key, right for any window. Inlined
-- as SQL functions they cost the caller 2-3 ms of planning per call at 1M rows (the bounds
-- expressions are large), more than running them. Each declares the rows it returns (ROWS):
-- with the default guess of 1,000 a statement joining several of them is estimated at
-- millions of rows, which crosses jit_above_cost and spends 30 ms compiling per call.
DO $gen$
DECLARE
    cols  text;  -- n0 bigint NOT NULL DEFAULT 0, ...
    pick  text;  -- coalesce(sum(d.n) FILTER (WHERE <key 0>), 0), ...: deltas into columns
    sets  text;  -- n0 = t.n0 + EXCLUDED.n0, ...
    zero  text;  -- t.n0 = 0 AND ...
    sums  text;  -- coalesce(sum(t.n0), 0), ...: a set of tally rows summed
    tbl   text;
    stale boolean;
BEGIN
    SELECT string_agg(format('n%s bigint NOT NULL DEFAULT 0', i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(d.n) FILTER (WHERE d.level = %L AND d.source_type'
                             ' = %L AND d.is_anomaly = %L), 0)', level, source_type,
                             is_anomaly), ', ' ORDER BY i)
               || ', coalesce(sum(d.rt_n), 0), coalesce(sum(d.rt_sum), 0),'
                  ' coalesce(sum(d.rt_sumsq), 0)',
           string_agg(format('n%s = t.n%s + EXCLUDED.n%s', i, i, i), ', ' ORDER BY i)
               || ', rt_n = t.rt_n + EXCLUDED.rt_n, rt_sum = t.rt_sum + EXCLUDED.rt_sum,'
                  ' rt_sumsq = t.rt_sumsq + EXCLUDED.rt_sumsq',
           string_agg(format('t.n%s = 0', i), ' AND ' ORDER BY i) || ' AND t.rt_n = 0',
           string_agg(format('coalesce(sum(t.n%s), 0)', i), ', ' ORDER BY i)
      INTO cols, pick, sets, zero, sums
      FROM log_tally_key;

    FOREACH tbl IN ARRAY ARRAY['log_tally_minute', 'log_tally_hour'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (bucket timestamptz PRIMARY KEY, %s)',
                       tbl, cols);
        EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS rt_n bigint NOT NULL DEFAULT 0,'
                       ' ADD COLUMN IF NOT EXISTS rt_sum numeric NOT NULL DEFAULT 0,'
                       ' ADD COLUMN IF NOT EXISTS rt_sumsq numeric NOT NULL DEFAULT 0', tbl);
    END LOOP;

    -- log_tally_add(deltas): adds per-minute deltas to both tallies. Buckets are upserted in
    -- key order, minute table first, so writers whose transactions hold one statement each
    -- lock tally rows in the same order and cannot deadlock on them. Rows whose counts all
    -- fall to zero are deleted: removed history leaves nothing behind.
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION log_tally_add(deltas log_delta[]) RETURNS void
        LANGUAGE sql AS $b$
            INSERT INTO log_tally_minute AS t
            SELECT d.bucket, %1$s FROM unnest(deltas) d GROUP BY d.bucket ORDER BY d.bucket
            ON CONFLICT (bucket) DO UPDATE SET %2$s;
            INSERT INTO log_tally_hour AS t
            SELECT date_trunc('hour', d.bucket, 'UTC'), %1$s FROM unnest(deltas) d
             GROUP BY 1 ORDER BY 1
            ON CONFLICT (bucket) DO UPDATE SET %2$s;
            DELETE FROM log_tally_minute t
             WHERE t.bucket IN (SELECT d.bucket FROM unnest(deltas) d WHERE d.n < 0) AND %3$s;
            DELETE FROM log_tally_hour t
             WHERE t.bucket IN (SELECT date_trunc('hour', d.bucket, 'UTC') FROM unnest(deltas) d
                                 WHERE d.n < 0) AND %3$s;
        $b$ $f$, pick, sets, zero);

    -- log_window(p_from, p_to[, p_rt]): the rows with "timestamp" in [p_from, p_to) in one
    -- pass: n[i + 1] counts key i of log_tally_key, and rt_n / rt_sum / rt_sumsq are the count,
    -- sum and sum of squares of their response times (NULL when p_rt is false: a caller that
    -- needs counts only spares the numeric sums of the edge rows, which grow with the rows per
    -- minute). Whole hours come from log_tally_hour, the whole minutes around them from
    -- log_tally_minute, the partial minutes at both edges from log_entries (two index-only
    -- range scans, grouped by key). Infinite bounds work (all of history); p_from >= p_to or a
    -- NULL bound gives zeros.
    DROP FUNCTION IF EXISTS log_window(timestamptz, timestamptz);
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION log_window(p_from timestamptz, p_to timestamptz,
                                              p_rt boolean DEFAULT true)
        RETURNS TABLE (n bigint[], rt_n bigint, rt_sum numeric, rt_sumsq numeric)
        LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET plan_cache_mode = force_generic_plan AS $b$
        #variable_conflict use_column
        DECLARE
            k record;
            tallied numeric[];  -- the tally rows' sums: 30 counts, then rt_n, rt_sum, rt_sumsq
            edges numeric[];    -- the same of the partial minutes
        BEGIN
            SELECT * INTO k FROM rollup_bounds(p_from, p_to);
            SELECT ARRAY[%1$s, coalesce(sum(t.rt_n), 0),
                         coalesce(sum(CASE WHEN p_rt THEN t.rt_sum END), 0),
                         coalesce(sum(CASE WHEN p_rt THEN t.rt_sumsq END), 0)]
              INTO tallied
              FROM (SELECT * FROM log_tally_hour h WHERE h.bucket >= k.h1 AND h.bucket < k.h2
                    UNION ALL
                    SELECT * FROM log_tally_minute m WHERE m.bucket >= k.m1 AND m.bucket < k.h1
                    UNION ALL
                    SELECT * FROM log_tally_minute m WHERE m.bucket >= k.h2 AND m.bucket < k.m2
                   ) t;
            -- One aggregate per key here would cost more to set up on every call than the
            -- few hundred edge rows cost to read: the grouped rows are laid out by key instead.
            SELECT array_agg(coalesce(d.n, 0) ORDER BY key.i)
                   || ARRAY[coalesce(sum(d.rt_n), 0), coalesce(sum(d.rt_sum), 0),
                            coalesce(sum(d.rt_sumsq), 0)]
              INTO edges
              FROM log_tally_key key
              LEFT JOIN (SELECT e.level, e.source_type, e.is_anomaly, count(*) AS n,
                                count(e.response_time_ms) AS rt_n,
                                sum(e.response_time_ms) AS rt_sum,
                                sum(e.response_time_ms * e.response_time_ms) AS rt_sumsq
                           FROM (SELECT e.level, e.source_type, e.is_anomaly,
                                        CASE WHEN p_rt THEN e.response_time_ms END
                                          AS response_time_ms
                                   FROM log_entries e
                                  WHERE e."timestamp" >= p_from AND e."timestamp" < k.m1
                                 UNION ALL
                                 SELECT e.level, e.source_type, e.is_anomaly,
                                        CASE WHEN p_rt THEN e.response_time_ms END
                                   FROM log_entries e
                                  WHERE e."timestamp" >= k.m2 AND e."timestamp" < p_to) e
                          GROUP BY 1, 2, 3) d
                     ON d.level = key.level AND d.source_type = key.source_type
                    AND d.is_anomaly = key.is_anomaly;
            RETURN QUERY
            SELECT (SELECT array_agg((tallied[i] + edges[i])::bigint ORDER BY i)
                      FROM generate_series(1, %2$s) i),
                   CASE WHEN p_rt THEN (tallied[%2$s + 1] + edges[%2$s + 1])::bigint END,
                   CASE WHEN p_rt THEN tallied[%2$s + 2] + edges[%2$s + 2] END,
                   CASE WHEN p_rt THEN tallied[%2$s + 3] + edges[%2$s + 3] END;
        END
        $b$ $f$, sums, (SELECT count(*) FROM log_tally_key));

    -- log_hours(p_from, p_to): the whole UTC hours inside [p_from, p_to) that have rows, one
    -- row each, straight from log_tally_hour: n[i + 1] counts key i, with the hour's
    -- response-time totals. For a caller that needs many hour-aligned windows (the dashboard's
    -- 4-hour buckets) without setting up a log_window() for each.
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION log_hours(p_from timestamptz, p_to timestamptz)
        RETURNS TABLE (bucket timestamptz, n bigint[], rt_n bigint, rt_sum numeric,
                       rt_sumsq numeric)
        LANGUAGE sql STABLE PARALLEL SAFE ROWS 24 AS $b$
            SELECT h.bucket, ARRAY[%s], h.rt_n, h.rt_sum, h.rt_sumsq
              FROM log_tally_hour h
             WHERE h.bucket >= p_from AND h.bucket + interval '1 hour' <= p_to
        $b$ $f$, (SELECT string_agg(format('h.n%s', i), ', ' ORDER BY i) FROM log_tally_key));

    -- Backfill: tallies whose per-key totals or response-time totals differ from log_entries
    -- (a database that had rows before the triggers existed) are rebuilt from it, with
    -- writers locked out meanwhile. Applying the file again finds them exact and does nothing.
    LOCK TABLE log_entries IN SHARE MODE;
    EXECUTE format($f$
        WITH d AS (SELECT level, source_type, is_anomaly, count(*) AS n,
                          count(response_time_ms) AS rt_n, sum(response_time_ms) AS rt_sum,
                          sum(response_time_ms * response_time_ms) AS rt_sumsq
                     FROM log_entries GROUP BY 1, 2, 3),
             want AS (SELECT ARRAY[%1$s]::numeric[] AS v FROM d)
        SELECT (SELECT ARRAY[%2$s, coalesce(sum(t.rt_n), 0), coalesce(sum(t.rt_sum), 0),
                             coalesce(sum(t.rt_sumsq), 0)]::numeric[]
                  FROM log_tally_minute t) IS DISTINCT FROM want.v
            OR (SELECT ARRAY[%2$s, coalesce(sum(t.rt_n), 0), coalesce(sum(t.rt_sum), 0),
                             coalesce(sum(t.rt_sumsq), 0)]::numeric[]
                  FROM log_tally_hour t) IS DISTINCT FROM want.v
          FROM want
        $f$, pick, sums) INTO stale;
    IF stale THEN
        TRUNCATE log_tally_minute, log_tally_hour;
        FOREACH tbl IN ARRAY ARRAY['minute', 'hour'] LOOP
            EXECUTE format($f$
                INSERT INTO %I
                SELECT d.bucket, %s
                  FROM (SELECT date_trunc(%L, "timestamp", 'UTC') AS bucket, level, source_type,
                               is_anomaly, count(*) AS n, count(response_time_ms) AS rt_n,
                               coalesce(sum(response_time_ms), 0) AS rt_sum,
                               coalesce(sum(response_time_ms * response_time_ms), 0) AS rt_sumsq
                          FROM log_entries GROUP BY 1, 2, 3, 4) d
                 GROUP BY d.bucket
                $f$, 'log_tally_' || tbl, pick, tbl);
        END LOOP;
    END IF;
END
$gen$;

-- log_tally(p_from, p_to): log_window's counts by key, keys without rows left out.
CREATE OR REPLACE FUNCTION log_tally(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (level log_level, source_type source_type, is_anomaly boolean, n bigint)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 30 AS $$
    SELECT key.level, key.source_type, key.is_anomaly, w.n[key.i + 1]
      FROM log_window(p_from, p_to, false) w, log_tally_key key
     WHERE w.n[key.i + 1] > 0
$$;

-- log_rt(p_from, p_to): log_window's response-time totals.
CREATE OR REPLACE FUNCTION log_rt(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (rt_n bigint, rt_sum numeric, rt_sumsq numeric)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT w.rt_n, w.rt_sum, w.rt_sumsq FROM log_window(p_from, p_to) w
$$;

-- log_levels(counts): a log_window count array summed per level, every level present.
CREATE OR REPLACE FUNCTION log_levels(counts bigint[])
RETURNS TABLE (level log_level, n bigint)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 5 AS $$
    SELECT key.level, coalesce(sum(counts[key.i + 1]), 0)::bigint
      FROM log_tally_key key
     GROUP BY key.level
$$;

-- Statement-level triggers read the transition tables once per statement (COPY included),
-- so a 10,000-row batch costs one grouped upsert, not 10,000. A transition table may serve
-- one event only, hence three functions; an UPDATE that moves no row between keys and
-- changes no response time nets to nothing and touches no tally row.
CREATE OR REPLACE FUNCTION log_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_tally_add(ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                   t.is_anomaly, count(*), count(t.response_time_ms),
                   coalesce(sum(t.response_time_ms), 0),
                   coalesce(sum(t.response_time_ms * t.response_time_ms), 0))::log_delta
          FROM log_rollup_new t
         GROUP BY date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                  t.is_anomaly));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_tally_add(ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                   t.is_anomaly, -count(*), -count(t.response_time_ms),
                   -coalesce(sum(t.response_time_ms), 0),
                   -coalesce(sum(t.response_time_ms * t.response_time_ms), 0))::log_delta
          FROM log_rollup_old t
         GROUP BY date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                  t.is_anomaly));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM log_tally_add(ARRAY(
        SELECT ROW(d.bucket, d.level, d.source_type, d.is_anomaly, sum(d.n), sum(d.rt_n),
                   sum(d.rt_sum), sum(d.rt_sumsq))::log_delta
          FROM (SELECT date_trunc('minute', t."timestamp", 'UTC') AS bucket, t.level,
                       t.source_type, t.is_anomaly, 1 AS n,
                       (t.response_time_ms IS NOT NULL)::int AS rt_n,
                       coalesce(t.response_time_ms, 0) AS rt_sum,
                       coalesce(t.response_time_ms * t.response_time_ms, 0) AS rt_sumsq
                  FROM log_rollup_new t
                UNION ALL
                SELECT date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                       t.is_anomaly, -1, -(t.response_time_ms IS NOT NULL)::int,
                       -coalesce(t.response_time_ms, 0),
                       -coalesce(t.response_time_ms * t.response_time_ms, 0)
                  FROM log_rollup_old t) d
         GROUP BY d.bucket, d.level, d.source_type, d.is_anomaly
        HAVING sum(d.n) <> 0 OR sum(d.rt_n) <> 0 OR sum(d.rt_sum) <> 0
            OR sum(d.rt_sumsq) <> 0));
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row events; it empties the tallies with the table (the seed tool
-- truncates before it loads).
CREATE OR REPLACE FUNCTION log_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE log_tally_minute, log_tally_hour;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER log_rollup_insert
    AFTER INSERT ON log_entries REFERENCING NEW TABLE AS log_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION log_rollup_on_insert();

CREATE OR REPLACE TRIGGER log_rollup_delete
    AFTER DELETE ON log_entries REFERENCING OLD TABLE AS log_rollup_old
    FOR EACH STATEMENT EXECUTE FUNCTION log_rollup_on_delete();

CREATE OR REPLACE TRIGGER log_rollup_update
    AFTER UPDATE ON log_entries REFERENCING OLD TABLE AS log_rollup_old NEW TABLE AS log_rollup_new
    FOR EACH STATEMENT EXECUTE FUNCTION log_rollup_on_update();

CREATE OR REPLACE TRIGGER log_rollup_truncate
    AFTER TRUNCATE ON log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION log_rollup_on_truncate();

-- ---------------------------------------------------------------------------------------------
-- Indexes of /api/logs, chosen by EXPLAIN (ANALYZE) of its statements at 1M rows over 24 h (custom
-- plans; the generic plans kept for the shapes without search are the same) (seed --rows
-- 1000000 --hours 24). schema.sql creates the same two B-trees under the same names; IF NOT
-- EXISTS makes either copy a no-op when the other ran first. The tallies' primary keys serve
-- log_window(): 24 h = Index Scan on log_tally_hour_pkey (23 rows) + Index Scans on
-- log_tally_minute_pkey (up to 118 rows) + two Index Only Scans of
-- log_entries_timestamp_cover_idx for the partial minutes (~700 rows each); about 0.6 ms of
-- CPU a call, a fifth of it setting up the aggregates.
-- A default page, statement as sent: Execution 1.2 ms, of which log_window 0.8 ms and the
-- page 0.1 ms (generic plan: Planning 0.03 ms; a custom plan took 0.6 ms to plan).
-- ---------------------------------------------------------------------------------------------

-- Listing, keyset cursor and the edges of log_window():
--   default page: Limit -> Index Scan using log_entries_timestamp_id_idx,
--     Index Cond: timestamp range; 51 rows, 7 buffers, 0.09 ms.
--   cursor 500,000 rows deep: the same scan with Index Cond ... AND ROW("timestamp", id) <
--     ROW(cursor); 0.16 ms (OFFSET 500,000 instead: 404 ms, which is why the cursor exists).
--   level=WARN&source=sap, pageSize=500: the same scan, Filter on level and source; 7.9 ms.
--   search on a frequent word ("request"): the same scan with Filter ILIKE, stopped by the
--     LIMIT after 10,001 matches (count cap); 300 ms worst seen.
CREATE INDEX IF NOT EXISTS log_entries_timestamp_id_idx
    ON log_entries ("timestamp" DESC, id DESC);

-- The partial minutes at the edges of log_window(), and the whole window of
-- response_time_summary() (dashboard.sql), read by index-only scans: no heap visit per row.
-- 24 h window at 1M rows: edges of ~700 rows each in 0.1 ms instead of 0.6 ms. It replaces
-- log_entries_timestamp_rt_idx ("timestamp") INCLUDE (response_time_ms).
CREATE INDEX IF NOT EXISTS log_entries_timestamp_cover_idx
    ON log_entries ("timestamp") INCLUDE (response_time_ms, level, source_type, is_anomaly);
DROP INDEX IF EXISTS log_entries_timestamp_rt_idx;

-- level=FATAL / level=ERROR / filter=anomaly (about 3 % of rows): Limit -> Incremental Sort
-- (presorted "timestamp") -> Index Scan Backward using log_entries_alert_timestamp_idx,
-- Filter: level = 'FATAL'; 52 rows, 1.8 ms (filter=anomaly 0.3 ms). The timestamp index
-- instead would read ~200 rows per FATAL row. The route spells the predicate as below.
CREATE INDEX IF NOT EXISTS log_entries_alert_timestamp_idx
    ON log_entries ("timestamp")
    WHERE is_anomaly OR level IN ('ERROR', 'FATAL');

-- search on a rare phrase uses schema.sql's GIN trigram index log_entries_message_trgm_idx
-- (created there when pg_trgm is available): "security breach" page: Bitmap Index Scan on
-- log_entries_message_trgm_idx -> Bitmap Heap Scan -> top-N heapsort; 11 ms; its exact count
-- 17 ms; "out of memory" (3,400 matches) counted in 46 ms. The escaped pattern ('%80\%%')
-- uses it too. The planner picks the timestamp walk above when matches are frequent.
-- log_entries_level_timestamp_idx (schema.sql) is not needed by this route: level filters
-- other than ERROR/FATAL match 12-65 % of rows and are served by the timestamp walk.
