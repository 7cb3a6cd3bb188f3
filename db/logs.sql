-- logs.sql -- exact per-minute and per-hour rollups of log_entries, log_counts(), and the
-- indexes of /api/logs. Part of schema.sql (\ir); idempotent.
--
-- It has no BEGIN/COMMIT of its own: schema.sql includes it inside its transaction. Applied
-- alone, run it as one transaction (`psql -1 -f db/logs.sql`); each statement is also safe on
-- its own, because the backfill at the end locks out writers and re-checks.

SET client_min_messages = warning;

-- Same key as schema.sql: concurrent applications of the schema serialise.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- ---------------------------------------------------------------------------------------------
-- Rollups. One row per (UTC minute or hour, level, source_type, is_anomaly): the number of
-- rows, and count / sum / sum of squares of response_time_ms over the rows that have one, so
-- callers derive means and standard deviations exactly. The triggers below keep them exact.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS log_rollup_minute (
    bucket      timestamptz NOT NULL,
    level       log_level NOT NULL,
    source_type source_type NOT NULL,
    is_anomaly  boolean NOT NULL,
    n           bigint NOT NULL,
    rt_n        bigint NOT NULL,
    rt_sum      numeric NOT NULL,
    rt_sumsq    numeric NOT NULL,
    PRIMARY KEY (bucket, level, source_type, is_anomaly)
);

CREATE TABLE IF NOT EXISTS log_rollup_hour (LIKE log_rollup_minute INCLUDING ALL);

-- Adds per-minute deltas (bucket = UTC minute; negative counts for removed rows) to both
-- rollups. Keys are upserted in primary-key order, minute table first, so writers whose
-- transactions hold one statement each lock rollup rows in the same order and cannot
-- deadlock on them. Keys whose count falls to zero are deleted: removed history leaves
-- nothing behind.
CREATE OR REPLACE FUNCTION log_rollup_add(deltas log_rollup_minute[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO log_rollup_minute AS r
    SELECT d.* FROM unnest(deltas) d
    ORDER BY d.bucket, d.level, d.source_type, d.is_anomaly
    ON CONFLICT (bucket, level, source_type, is_anomaly) DO UPDATE
       SET n = r.n + EXCLUDED.n, rt_n = r.rt_n + EXCLUDED.rt_n,
           rt_sum = r.rt_sum + EXCLUDED.rt_sum, rt_sumsq = r.rt_sumsq + EXCLUDED.rt_sumsq;

    INSERT INTO log_rollup_hour AS r
    SELECT date_trunc('hour', d.bucket, 'UTC'), d.level, d.source_type, d.is_anomaly,
           sum(d.n), sum(d.rt_n), sum(d.rt_sum), sum(d.rt_sumsq)
      FROM unnest(deltas) d
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, level, source_type, is_anomaly) DO UPDATE
       SET n = r.n + EXCLUDED.n, rt_n = r.rt_n + EXCLUDED.rt_n,
           rt_sum = r.rt_sum + EXCLUDED.rt_sum, rt_sumsq = r.rt_sumsq + EXCLUDED.rt_sumsq;

    DELETE FROM log_rollup_minute r
     USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = d.bucket AND r.level = d.level
       AND r.source_type = d.source_type AND r.is_anomaly = d.is_anomaly;

    DELETE FROM log_rollup_hour r
     USING unnest(deltas) d
     WHERE d.n < 0 AND r.n = 0 AND r.bucket = date_trunc('hour', d.bucket, 'UTC')
       AND r.level = d.level AND r.source_type = d.source_type AND r.is_anomaly = d.is_anomaly;
$$;

-- Statement-level triggers read the transition tables once per statement (COPY included),
-- so a 10,000-row batch costs one grouped upsert, not 10,000. A transition table may serve
-- one event only, hence three functions; an UPDATE that moves no row between keys and
-- changes no response time nets to nothing and touches no rollup row.
CREATE OR REPLACE FUNCTION log_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas log_rollup_minute[];
BEGIN
    deltas := ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                   t.is_anomaly, count(*), count(t.response_time_ms),
                   coalesce(sum(t.response_time_ms), 0),
                   coalesce(sum(t.response_time_ms * t.response_time_ms), 0))::log_rollup_minute
          FROM log_rollup_new t
         GROUP BY date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                  t.is_anomaly);
    PERFORM log_rollup_add(deltas);
    PERFORM log_tally_add(deltas);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas log_rollup_minute[];
BEGIN
    deltas := ARRAY(
        SELECT ROW(date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                   t.is_anomaly, -count(*), -count(t.response_time_ms),
                   -coalesce(sum(t.response_time_ms), 0),
                   -coalesce(sum(t.response_time_ms * t.response_time_ms), 0))::log_rollup_minute
          FROM log_rollup_old t
         GROUP BY date_trunc('minute', t."timestamp", 'UTC'), t.level, t.source_type,
                  t.is_anomaly);
    PERFORM log_rollup_add(deltas);
    PERFORM log_tally_add(deltas);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas log_rollup_minute[];
BEGIN
    deltas := ARRAY(
        SELECT ROW(d.bucket, d.level, d.source_type, d.is_anomaly, sum(d.n), sum(d.rt_n),
                   sum(d.rt_sum), sum(d.rt_sumsq))::log_rollup_minute
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
            OR sum(d.rt_sumsq) <> 0);
    PERFORM log_rollup_add(deltas);
    PERFORM log_tally_add(deltas);
    RETURN NULL;
END
$$;

-- TRUNCATE fires no row events; it empties the rollups and tallies with the table (the seed tool
-- truncates before it loads).
CREATE OR REPLACE FUNCTION log_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE log_rollup_minute, log_rollup_hour, log_tally_minute, log_tally_hour;
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

-- Backfill: rollups that do not add up to the table (a database that had rows before the
-- triggers existed) are rebuilt from log_entries, with writers locked out meanwhile. Applying
-- the file again finds them consistent and does nothing.
DO $$
BEGIN
    LOCK TABLE log_entries IN SHARE MODE;
    IF (SELECT count(*) FROM log_entries) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM log_rollup_minute)
       OR (SELECT coalesce(sum(n), 0) FROM log_rollup_minute) IS DISTINCT FROM
           (SELECT coalesce(sum(n), 0) FROM log_rollup_hour) THEN
        TRUNCATE log_rollup_minute, log_rollup_hour;
        INSERT INTO log_rollup_minute
        SELECT date_trunc('minute', e."timestamp", 'UTC'), e.level, e.source_type, e.is_anomaly,
               count(*), count(e.response_time_ms), coalesce(sum(e.response_time_ms), 0),
               coalesce(sum(e.response_time_ms * e.response_time_ms), 0)
          FROM log_entries e
         GROUP BY 1, 2, 3, 4;
        INSERT INTO log_rollup_hour
        SELECT date_trunc('hour', m.bucket, 'UTC'), m.level, m.source_type, m.is_anomaly,
               sum(m.n), sum(m.rt_n), sum(m.rt_sum), sum(m.rt_sumsq)
          FROM log_rollup_minute m
         GROUP BY 1, 2, 3, 4;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- log_counts(p_from, p_to): exact counts and response-time sums of the rows with "timestamp"
-- in [p_from, p_to), by (level, source_type, is_anomaly). Whole UTC hours come from the hour
-- rollup, the whole minutes around them from the minute rollup, and the partial minutes at
-- both edges from log_entries (two short index range scans). Infinite bounds work (all of
-- history); p_from >= p_to or a NULL bound gives no rows.
--
-- The bounds come from rollup_bounds().
--
-- Planning: the readers (log_counts, log_tally, ml_counts, error_message_counts) are PL/pgSQL
-- with plan_cache_mode = force_generic_plan, so each session plans their query once and then
-- runs the cached plan: every choice in it is a range scan on a key, right for any window.
-- Inlined as SQL functions they cost the caller 2-3 ms of planning per call at 1M rows (the
-- bounds expressions are large), more than running them. Each declares the rows it returns
-- (ROWS): with the default guess of 1,000 a statement joining four of them is estimated at
-- millions of rows, which crosses jit_above_cost and spends 30 ms compiling per call.
-- ---------------------------------------------------------------------------------------------

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

CREATE OR REPLACE FUNCTION log_counts(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (level log_level, source_type source_type, is_anomaly boolean, n bigint,
               rt_n bigint, rt_sum numeric, rt_sumsq numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 30 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    k record;
BEGIN
    SELECT * INTO k FROM rollup_bounds(p_from, p_to);
    RETURN QUERY
    SELECT u.level, u.source_type, u.is_anomaly, sum(u.n)::bigint, sum(u.rt_n)::bigint,
           sum(u.rt_sum), sum(u.rt_sumsq)
      FROM (
               SELECT h.level, h.source_type, h.is_anomaly, h.n, h.rt_n, h.rt_sum, h.rt_sumsq
                 FROM log_rollup_hour h
                WHERE h.bucket >= k.h1 AND h.bucket < k.h2
               UNION ALL
               SELECT m.level, m.source_type, m.is_anomaly, m.n, m.rt_n, m.rt_sum, m.rt_sumsq
                 FROM log_rollup_minute m
                WHERE m.bucket >= k.m1 AND m.bucket < k.h1
               UNION ALL
               SELECT m.level, m.source_type, m.is_anomaly, m.n, m.rt_n, m.rt_sum, m.rt_sumsq
                 FROM log_rollup_minute m
                WHERE m.bucket >= k.h2 AND m.bucket < k.m2
               UNION ALL
               SELECT e.level, e.source_type, e.is_anomaly, 1,
                      (e.response_time_ms IS NOT NULL)::int, coalesce(e.response_time_ms, 0),
                      coalesce(e.response_time_ms * e.response_time_ms, 0)
                 FROM log_entries e
                WHERE e."timestamp" >= p_from AND e."timestamp" < k.m1
               UNION ALL
               SELECT e.level, e.source_type, e.is_anomaly, 1,
                      (e.response_time_ms IS NOT NULL)::int, coalesce(e.response_time_ms, 0),
                      coalesce(e.response_time_ms * e.response_time_ms, 0)
                 FROM log_entries e
                WHERE e."timestamp" >= k.m2 AND e."timestamp" < p_to
           ) u
     GROUP BY u.level, u.source_type, u.is_anomaly;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Tallies: the same counts as the rollups' n, one row per bucket instead of one per key, for
-- the routes that need counts only (/api/logs summary and total_count). A 24-hour window is
-- then ~23 hour rows + up to ~118 minute rows + the two partial minutes from log_entries,
-- instead of ~1,300 key rows: 0.3 ms instead of 1.3 ms at 1M rows over 24 h.
--
-- log_tally_key numbers the 30 keys (level x source_type x is_anomaly); column n<i> of
-- log_tally_minute / log_tally_hour counts key i. The 30 columns, the upsert and the reader
-- are generated from log_tally_key below, so adding an enum value means re-running this file.
-- log_rollup_add() (above) feeds them from the same deltas, in the same transaction.
-- ---------------------------------------------------------------------------------------------

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

DO $gen$
DECLARE
    cols  text;  -- n0 bigint NOT NULL DEFAULT 0, ...
    pick  text;  -- coalesce(sum(d.n) FILTER (WHERE <key 0>), 0), ...: deltas into columns
    sets  text;  -- n0 = t.n0 + EXCLUDED.n0, ...
    zero  text;  -- t.n0 = 0 AND ...
    sums  text;  -- sum(t.n0), ...: the reader's totals
    tbl   text;
    stale boolean;
BEGIN
    SELECT string_agg(format('n%s bigint NOT NULL DEFAULT 0', i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(d.n) FILTER (WHERE d.level = %L AND d.source_type'
                             ' = %L AND d.is_anomaly = %L), 0)', level, source_type,
                             is_anomaly), ', ' ORDER BY i)
               || ', sum(d.rt_n), sum(d.rt_sum), sum(d.rt_sumsq)',
           string_agg(format('n%s = t.n%s + EXCLUDED.n%s', i, i, i), ', ' ORDER BY i)
               || ', rt_n = t.rt_n + EXCLUDED.rt_n, rt_sum = t.rt_sum + EXCLUDED.rt_sum,'
                  ' rt_sumsq = t.rt_sumsq + EXCLUDED.rt_sumsq',
           string_agg(format('t.n%s = 0', i), ' AND ' ORDER BY i) || ' AND t.rt_n = 0',
           string_agg(format('sum(t.n%s)', i), ', ' ORDER BY i)
      INTO cols, pick, sets, zero, sums
      FROM log_tally_key;

    -- After the 30 counts, the response times of the bucket's rows over all keys: count,
    -- sum and sum of squares of those that have one (what the readers of averages need).
    FOREACH tbl IN ARRAY ARRAY['log_tally_minute', 'log_tally_hour'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (bucket timestamptz PRIMARY KEY, %s)',
                       tbl, cols);
        EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS rt_n bigint NOT NULL DEFAULT 0,'
                       ' ADD COLUMN IF NOT EXISTS rt_sum numeric NOT NULL DEFAULT 0,'
                       ' ADD COLUMN IF NOT EXISTS rt_sumsq numeric NOT NULL DEFAULT 0', tbl);
    END LOOP;

    -- Adds per-minute deltas (log_rollup_add's argument) to both tallies, buckets in key
    -- order; rows whose counts all fall to zero are deleted.
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION log_tally_add(deltas log_rollup_minute[]) RETURNS void
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

    -- log_tally(p_from, p_to): exact row counts with "timestamp" in [p_from, p_to) by key,
    -- keys without rows left out. Same bounds, edges and planning as log_counts().
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION log_tally(p_from timestamptz, p_to timestamptz)
        RETURNS TABLE (level log_level, source_type source_type, is_anomaly boolean, n bigint)
        LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 30 SET plan_cache_mode = force_generic_plan AS $b$
        #variable_conflict use_column
        DECLARE
            k record;
        BEGIN
            SELECT * INTO k FROM rollup_bounds(p_from, p_to);
            RETURN QUERY
            SELECT u.level, u.source_type, u.is_anomaly, sum(u.n)::bigint
              FROM (
                       SELECT key.level, key.source_type, key.is_anomaly, w.n
                         FROM (SELECT ARRAY[%s] AS v
                                 FROM (SELECT * FROM log_tally_hour h
                                        WHERE h.bucket >= k.h1 AND h.bucket < k.h2
                                       UNION ALL
                                       SELECT * FROM log_tally_minute m
                                        WHERE m.bucket >= k.m1 AND m.bucket < k.h1
                                       UNION ALL
                                       SELECT * FROM log_tally_minute m
                                        WHERE m.bucket >= k.h2 AND m.bucket < k.m2) t
                              ) s,
                              unnest(s.v) WITH ORDINALITY w(n, o)
                              JOIN log_tally_key key ON key.i = w.o - 1
                        WHERE w.n > 0
                       UNION ALL
                       SELECT e.level, e.source_type, e.is_anomaly, 1
                         FROM log_entries e
                        WHERE e."timestamp" >= p_from AND e."timestamp" < k.m1
                       UNION ALL
                       SELECT e.level, e.source_type, e.is_anomaly, 1
                         FROM log_entries e
                        WHERE e."timestamp" >= k.m2 AND e."timestamp" < p_to
                   ) u
             GROUP BY u.level, u.source_type, u.is_anomaly;
        END
        $b$ $f$, sums);

    -- Backfill: tallies whose per-key totals (or response-time totals) differ from the
    -- minute rollup's (which the
    -- backfill above made exact) are rebuilt from the rollups, with writers locked out.
    LOCK TABLE log_entries IN SHARE MODE;
    EXECUTE format($f$
        SELECT (SELECT ARRAY[%1$s, sum(t.rt_n), sum(t.rt_sum), sum(t.rt_sumsq)]::numeric[]
                  FROM log_tally_minute t) IS DISTINCT FROM want
            OR (SELECT ARRAY[%1$s, sum(t.rt_n), sum(t.rt_sum), sum(t.rt_sumsq)]::numeric[]
                  FROM log_tally_hour t) IS DISTINCT FROM want
          FROM (SELECT array_agg(coalesce(r.n, 0) ORDER BY key.i)::numeric[]
                       || (SELECT ARRAY[sum(rt_n), sum(rt_sum), sum(rt_sumsq)]::numeric[]
                             FROM log_rollup_minute) AS want
                  FROM log_tally_key key
                  LEFT JOIN (SELECT level, source_type, is_anomaly, sum(n) AS n
                               FROM log_rollup_minute GROUP BY 1, 2, 3) r
                         USING (level, source_type, is_anomaly)) w
        $f$, sums) INTO stale;
    IF stale THEN
        TRUNCATE log_tally_minute, log_tally_hour;
        EXECUTE format('INSERT INTO log_tally_minute SELECT d.bucket, %s FROM log_rollup_minute d'
                       ' GROUP BY d.bucket', pick);
        EXECUTE format('INSERT INTO log_tally_hour SELECT d.bucket, %s FROM log_rollup_hour d'
                       ' GROUP BY d.bucket', pick);
    END IF;
END
$gen$;

-- log_rt(p_from, p_to): count, sum and sum of squares of response_time_ms over the rows with
-- "timestamp" in [p_from, p_to) that have one: averages and deviations without a scan. Same
-- bounds, edges and planning as log_tally().
CREATE OR REPLACE FUNCTION log_rt(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (rt_n bigint, rt_sum numeric, rt_sumsq numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    k record;
BEGIN
    SELECT * INTO k FROM rollup_bounds(p_from, p_to);
    RETURN QUERY
    SELECT coalesce(sum(u.rt_n), 0)::bigint, coalesce(sum(u.rt_sum), 0),
           coalesce(sum(u.rt_sumsq), 0)
      FROM (SELECT h.rt_n, h.rt_sum, h.rt_sumsq FROM log_tally_hour h
             WHERE h.bucket >= k.h1 AND h.bucket < k.h2
            UNION ALL
            SELECT m.rt_n, m.rt_sum, m.rt_sumsq FROM log_tally_minute m
             WHERE m.bucket >= k.m1 AND m.bucket < k.h1
            UNION ALL
            SELECT m.rt_n, m.rt_sum, m.rt_sumsq FROM log_tally_minute m
             WHERE m.bucket >= k.h2 AND m.bucket < k.m2
            UNION ALL
            SELECT 1, e.response_time_ms, e.response_time_ms * e.response_time_ms
              FROM log_entries e
             WHERE e."timestamp" >= p_from AND e."timestamp" < k.m1
               AND e.response_time_ms IS NOT NULL
            UNION ALL
            SELECT 1, e.response_time_ms, e.response_time_ms * e.response_time_ms
              FROM log_entries e
             WHERE e."timestamp" >= k.m2 AND e."timestamp" < p_to
               AND e.response_time_ms IS NOT NULL
           ) u;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Indexes of /api/logs, chosen by EXPLAIN (ANALYZE) of its statements (custom plans: the route's
-- sessions run with plan_cache_mode=force_custom_plan) at 1M rows over 24 h (seed --rows
-- 1000000 --hours 24). schema.sql creates the same two B-trees under the same names; IF NOT
-- EXISTS makes either copy a no-op when the other ran first. The tallies' primary keys serve
-- log_tally(): 24 h = Index Scan on log_tally_hour_pkey (23 rows) + Index Scans on
-- log_tally_minute_pkey (up to 118 rows) + two Index Only Scans of
-- log_entries_timestamp_cover_idx for the partial minutes (~700 rows each), 0.35 ms; the
-- narrow rollups took 1.3 ms for the same window (~1,300 key rows), 3.5 ms when inlined.
-- A default page, statement as sent: Planning 0.3 ms, Execution 0.65 ms (was 2.6 + 1.2 ms
-- with log_counts inlined and the JSON built by json_agg).
-- ---------------------------------------------------------------------------------------------

-- Listing, keyset cursor and the edges of log_counts():
--   default page: Limit -> Index Scan using log_entries_timestamp_id_idx,
--     Index Cond: timestamp range; 51 rows, 7 buffers, 0.09 ms.
--   cursor 500,000 rows deep: the same scan with Index Cond ... AND ROW("timestamp", id) <
--     ROW(cursor); 0.16 ms (OFFSET 500,000 instead: 404 ms, which is why the cursor exists).
--   level=WARN&source=sap, pageSize=500: the same scan, Filter on level and source; 7.9 ms.
--   search on a frequent word ("request"): the same scan with Filter ILIKE, stopped by the
--     LIMIT after 10,001 matches (count cap); 300 ms worst seen.
CREATE INDEX IF NOT EXISTS log_entries_timestamp_id_idx
    ON log_entries ("timestamp" DESC, id DESC);

-- The partial minutes at the edges of log_counts() and log_tally(), and the whole window of
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
