-- percentiles.sql -- exact order statistics of response_time_ms over any time window without
-- sorting the window: a two-level histogram per UTC minute and hour, kept exact by statement
-- triggers, and response_time_summary(), which /api/monitoring reads. Part of schema.sql (\ir,
-- inside its transaction); idempotent. Applied alone, run it as one transaction
-- (`psql -1 -f db/percentiles.sql`).
--
-- Why: percentile_cont over a day of a million rows reads and sorts all of them on every
-- request (0.3-0.6 s here). Here a rank is found by counting instead:
--   1. coarse: the window's count per coarse bin (137 bins) from rt_coarse_hour/_minute
--      (one row per bucket, a column per bin) plus the partial minutes at the edges;
--   2. fine: within the coarse bin holding the rank, the count per fine cell (128 per bin)
--      from rt_fine_hour/_minute (one row per bucket and coarse bin);
--   3. the row itself: within that cell's value range, the window's rows in value order by an
--      index-only scan of log_entries_response_time_idx, OFFSET the rank left.
-- At a million rows over 24 h a cell holds at most a few hundred rows, so a rank costs three
-- small reads whatever the window holds: 2-3 ms for the 24 h window at 1M rows (0.3-0.6 s by
-- percentile_cont), 17 ms over all of 10M rows (2.8 s; `make bench-seed` measures both). The
-- result is the same float8 percentile_cont gives (tests/integration/32_percentiles.sh).
-- Its price, at a million rows a day: about 48 MB a day of histograms (nearly all of it
-- rt_fine_minute, ~56 rows of 128 counts a minute) plus 30 MB of index, and 6-10 us of trigger
-- work per written row.
--
-- Cells. A response time is a whole number of hundredths c = response_time_ms * 100 (the
-- column is numeric(10,2), never negative). Cells keep about 0.1 % of relative width, like an
-- HDR histogram: c < 1024 has a cell per value; above, the 10 bits after the leading one pick
-- the cell (a cell is 2^(bits(c) - 11) wide), so 1024 cells per doubling. Cell number x:
-- coarse bin x >> 7, fine cell x & 127. Values from 2^26 hundredths (about 11 minutes) up share
-- one last cell, 136 * 128, and a rank there walks them all: such times are not latencies.
-- ---------------------------------------------------------------------------------------------

SET client_min_messages = warning;

DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- rt_bits(c): the number of binary digits of c in [1, 2^26): how many powers of two are <= c
-- (width_bucket, a binary search).
CREATE OR REPLACE FUNCTION rt_bits(c bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT width_bucket(c, '{1,2,4,8,16,32,64,128,256,512,1024,2048,
                             4096,8192,16384,32768,65536,131072,262144,524288,1048576,
                             2097152,4194304,8388608,16777216,33554432}'::bigint[])
$$;

-- rt_cell(response_time_ms): the cell of a value (see above). LANGUAGE sql and one expression,
-- so that it is inlined into the triggers' queries.
CREATE OR REPLACE FUNCTION rt_cell(rt numeric) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN rt < 10.24 THEN (rt * 100)::integer
                WHEN rt >= 671088.64 THEN 136 * 128
                ELSE 1024 * (rt_bits((rt * 100)::bigint) - 11)
                     + ((rt * 100)::bigint >> (rt_bits((rt * 100)::bigint) - 11))::integer
           END
$$;

-- rt_cell_floor(cell): the least value of a cell (infinity past the last one), so cell x holds
-- the values in [rt_cell_floor(x), rt_cell_floor(x + 1)).
CREATE OR REPLACE FUNCTION rt_cell_floor(cell integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cell < 1024 THEN cell / 100.0
                WHEN cell < 136 * 128
                THEN (((cell & 1023) + 1024)::bigint << ((cell >> 10) - 1)) / 100.0
                WHEN cell = 136 * 128 THEN 671088.64
                ELSE 'Infinity'
           END
$$;

-- What one statement changed: rows added to (n > 0) or removed from (n < 0) one cell in one
-- UTC minute.
DO $$
BEGIN
    IF to_regtype('rt_delta') IS NULL THEN
        CREATE TYPE rt_delta AS (bucket timestamptz, cell integer, n integer);
    END IF;
END
$$;

-- The third step's scan (generic plan): Limit -> Index Only Scan using
-- log_entries_response_time_idx, Index Cond: the cell's value range and the window; at 1M rows
-- over 24 h it passes at most a few hundred entries before the LIMIT stops it (0.1-0.5 ms).
-- With the window's bounds only in a filter, or the cell's upper bound left out, the generic
-- plan walked the whole window by the timestamp index and sorted it instead (220 ms).
CREATE INDEX IF NOT EXISTS log_entries_response_time_idx
    ON log_entries (response_time_ms, "timestamp");

-- Statement triggers: one grouped delta per statement (COPY included). A transition table
-- serves one event only, so the function branches on TG_OP; an UPDATE that keeps every row's
-- minute and cell nets to nothing.
CREATE OR REPLACE FUNCTION rt_hist_on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE rt_coarse_minute, rt_coarse_hour, rt_fine_minute, rt_fine_hour;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM rt_hist_add(ARRAY(
            SELECT ROW(d.bucket, d.cell, d.n)::rt_delta
              FROM (SELECT date_trunc('minute', t."timestamp", 'UTC') AS bucket,
                           rt_cell(t.response_time_ms) AS cell, count(*) AS n
                      FROM rt_hist_new t WHERE t.response_time_ms IS NOT NULL GROUP BY 1, 2) d));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM rt_hist_add(ARRAY(
            SELECT ROW(d.bucket, d.cell, -d.n)::rt_delta
              FROM (SELECT date_trunc('minute', t."timestamp", 'UTC') AS bucket,
                           rt_cell(t.response_time_ms) AS cell, count(*) AS n
                      FROM rt_hist_old t WHERE t.response_time_ms IS NOT NULL GROUP BY 1, 2) d));
    ELSE
        PERFORM rt_hist_add(ARRAY(
            SELECT ROW(d.bucket, d.cell, sum(d.n))::rt_delta
              FROM (SELECT date_trunc('minute', t."timestamp", 'UTC') AS bucket,
                           rt_cell(t.response_time_ms) AS cell, 1 AS n
                      FROM rt_hist_new t WHERE t.response_time_ms IS NOT NULL
                    UNION ALL
                    SELECT date_trunc('minute', t."timestamp", 'UTC'),
                           rt_cell(t.response_time_ms), -1
                      FROM rt_hist_old t WHERE t.response_time_ms IS NOT NULL) d
             GROUP BY d.bucket, d.cell HAVING sum(d.n) <> 0));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER rt_hist_insert
    AFTER INSERT ON log_entries REFERENCING NEW TABLE AS rt_hist_new
    FOR EACH STATEMENT EXECUTE FUNCTION rt_hist_on_change();

CREATE OR REPLACE TRIGGER rt_hist_delete
    AFTER DELETE ON log_entries REFERENCING OLD TABLE AS rt_hist_old
    FOR EACH STATEMENT EXECUTE FUNCTION rt_hist_on_change();

CREATE OR REPLACE TRIGGER rt_hist_update
    AFTER UPDATE ON log_entries REFERENCING OLD TABLE AS rt_hist_old NEW TABLE AS rt_hist_new
    FOR EACH STATEMENT EXECUTE FUNCTION rt_hist_on_change();

CREATE OR REPLACE TRIGGER rt_hist_truncate
    AFTER TRUNCATE ON log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rt_hist_on_change();

-- The tables, the writer and the reader are generated: 137 coarse columns c0..c136 and 128
-- fine columns f0..f127. Counts are integer: a bucket would need 2^31 rows to overflow, which
-- fails the writing statement rather than wrapping.
DO $gen$
DECLARE
    coarse_cols text;  -- c0 integer NOT NULL DEFAULT 0, ...
    coarse_pick text;  -- coalesce(sum(t.n) FILTER (WHERE t.coarse = 0), 0) AS c0, ...
    coarse_sets text;  -- c0 = t.c0 + EXCLUDED.c0, ...
    coarse_sums text;  -- coalesce(sum(t.c0), 0), ...
    fine_cols   text;
    fine_pick   text;  -- coalesce(sum(d.n) FILTER (WHERE d.cell & 127 = 0), 0) AS f0, ...
    fine_sets   text;
    fine_sums   text;
    coarse_unpivot text;  -- (0, t.c0), (1, t.c1), ...: a row's columns as (bin, count) rows
    fine_unpivot   text;
    tbl         text;
    stale       boolean;
BEGIN
    SELECT string_agg(format('c%s integer NOT NULL DEFAULT 0', i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(t.n) FILTER (WHERE t.coarse = %s), 0) AS c%s', i, i),
                      ', ' ORDER BY i),
           string_agg(format('c%s = t.c%s + EXCLUDED.c%s', i, i, i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(t.c%s), 0)', i), ', ' ORDER BY i),
           string_agg(format('(%s, t.c%s)', i, i), ', ' ORDER BY i)
      INTO coarse_cols, coarse_pick, coarse_sets, coarse_sums, coarse_unpivot
      FROM generate_series(0, 136) i;
    SELECT string_agg(format('f%s integer NOT NULL DEFAULT 0', i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(d.n) FILTER (WHERE d.cell & 127 = %s), 0) AS f%s', i, i),
                      ', ' ORDER BY i),
           string_agg(format('f%s = t.f%s + EXCLUDED.f%s', i, i, i), ', ' ORDER BY i),
           string_agg(format('coalesce(sum(t.f%s), 0)', i), ', ' ORDER BY i),
           string_agg(format('(%s, t.f%s)', i, i), ', ' ORDER BY i)
      INTO fine_cols, fine_pick, fine_sets, fine_sums, fine_unpivot
      FROM generate_series(0, 127) i;

    -- rt_coarse_<minute|hour>: per bucket, n rows with a response time, c<b> of them in
    -- coarse bin b. rt_fine_<minute|hour>: per bucket and coarse bin, n rows, f<j> of them in
    -- fine cell j; keyed coarse bin first, which is how the reader asks.
    FOREACH tbl IN ARRAY ARRAY['minute', 'hour'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (bucket timestamptz PRIMARY KEY,'
                       ' n integer NOT NULL, %s)', 'rt_coarse_' || tbl, coarse_cols);
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (coarse smallint, bucket timestamptz,'
                       ' n integer NOT NULL, %s, PRIMARY KEY (coarse, bucket))',
                       'rt_fine_' || tbl, fine_cols);
    END LOOP;

    -- rt_hist_add(deltas): adds per-minute cell deltas to the four tables, each in key order
    -- (the same order for every writer, so concurrent writers cannot deadlock on them), and
    -- deletes the rows that fell to zero: removed history leaves nothing behind. The deltas
    -- are spread into fine columns once (fm); the hour rows and the coarse rows are sums of
    -- those, not a second pass over the deltas.
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION rt_hist_add(deltas rt_delta[]) RETURNS void
        LANGUAGE sql AS $b$
            WITH fm AS MATERIALIZED (
                     SELECT d.cell >> 7 AS coarse, d.bucket, sum(d.n) AS n, %1$s
                       FROM unnest(deltas) d GROUP BY 1, 2),
                 cm AS MATERIALIZED (
                     SELECT t.bucket, sum(t.n) AS n, %3$s FROM fm t GROUP BY 1),
                 fine_minute AS (
                     INSERT INTO rt_fine_minute AS t SELECT * FROM fm ORDER BY 1, 2
                     ON CONFLICT (coarse, bucket) DO UPDATE SET n = t.n + EXCLUDED.n, %2$s),
                 fine_hour AS (
                     INSERT INTO rt_fine_hour AS t
                     SELECT t.coarse, date_trunc('hour', t.bucket, 'UTC'), sum(t.n), %5$s
                       FROM fm t GROUP BY 1, 2 ORDER BY 1, 2
                     ON CONFLICT (coarse, bucket) DO UPDATE SET n = t.n + EXCLUDED.n, %2$s),
                 coarse_minute AS (
                     INSERT INTO rt_coarse_minute AS t SELECT * FROM cm ORDER BY 1
                     ON CONFLICT (bucket) DO UPDATE SET n = t.n + EXCLUDED.n, %4$s)
            INSERT INTO rt_coarse_hour AS t
            SELECT date_trunc('hour', t.bucket, 'UTC'), sum(t.n), %6$s
              FROM cm t GROUP BY 1 ORDER BY 1
            ON CONFLICT (bucket) DO UPDATE SET n = t.n + EXCLUDED.n, %4$s;
            DELETE FROM rt_fine_minute t USING unnest(deltas) d
             WHERE d.n < 0 AND t.n = 0 AND t.coarse = d.cell >> 7 AND t.bucket = d.bucket;
            DELETE FROM rt_fine_hour t USING unnest(deltas) d
             WHERE d.n < 0 AND t.n = 0 AND t.coarse = d.cell >> 7
               AND t.bucket = date_trunc('hour', d.bucket, 'UTC');
            DELETE FROM rt_coarse_minute t USING unnest(deltas) d
             WHERE d.n < 0 AND t.n = 0 AND t.bucket = d.bucket;
            DELETE FROM rt_coarse_hour t USING unnest(deltas) d
             WHERE d.n < 0 AND t.n = 0 AND t.bucket = date_trunc('hour', d.bucket, 'UTC');
        $b$ $f$, fine_pick, fine_sets, coarse_pick, coarse_sets, fine_sums, coarse_sums);

    -- response_time_summary(p_from, p_to): over the rows with "timestamp" in [p_from, p_to)
    -- that have a response time: percentile_cont(0.5 / 0.95 / 0.99) of response_time_ms as
    -- float8, its min and max, and their count n; NULLs (and n = 0) when there are none. (Their
    -- mean is log_window()'s rt_sum / rt_n.) Each percentile needs the values at ranks
    -- floor(p * (n - 1)) and ceil(p * (n - 1)) and interpolates between them exactly as
    -- percentile_cont does (lo + frac * (hi - lo), in float8). The window splits as in
    -- rollup_bounds(): hours, minutes, and the partial minutes, whose cells are read once from
    -- log_entries. A rank is found by width_bucket() over running totals (a binary search);
    -- a cell is read two rows at a time, so the pair of a percentile usually costs one scan.
    -- min and max are the first and the last row of the lowest and the highest non-empty
    -- coarse bin. The function is STABLE, so its statements share one snapshot.
    IF EXISTS (SELECT FROM pg_proc WHERE proname = 'response_time_summary'
                                     AND 'avg' = ANY (proargnames)) THEN
        DROP FUNCTION response_time_summary(timestamptz, timestamptz);  -- had a mean column
    END IF;
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION response_time_summary(p_from timestamptz, p_to timestamptz)
        RETURNS TABLE (p50 double precision, p95 double precision, p99 double precision,
                       min numeric, max numeric, n bigint)
        LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1 SET plan_cache_mode = force_generic_plan
        AS $b$
        #variable_conflict use_column
        DECLARE
            k       record;
            edges   integer[];  -- the cells of the partial minutes' rows
            coarse  bigint[];   -- running totals: coarse[b + 1] rows in coarse bins 0..b
            bins    integer[];  -- the coarse bins holding the wanted ranks, ascending
            fine    bigint[];   -- running totals over the fine cells of each of bins
            p       integer;
            total   bigint;
            pct     double precision[] := ARRAY[0.5, 0.95, 0.99];
            ranks   bigint[] := '{}';  -- floor and ceil rank (0-based) of each percentile
            vals    numeric[];         -- the value at each
            two     numeric[];         -- a rank's value and the next one in its cell
            r       bigint;
            b       integer;
            j       integer;
            pos     double precision;
            lo      double precision;
            hi      double precision;
            res     double precision[];
            lowest  numeric;
            highest numeric;
        BEGIN
            SELECT * INTO k FROM rollup_bounds(p_from, p_to);
            edges := ARRAY(SELECT rt_cell(e.response_time_ms) FROM log_entries e
                            WHERE e."timestamp" >= p_from AND e."timestamp" < k.m1
                              AND e.response_time_ms IS NOT NULL
                           UNION ALL
                           SELECT rt_cell(e.response_time_ms) FROM log_entries e
                            WHERE e."timestamp" >= k.m2 AND e."timestamp" < p_to
                              AND e.response_time_ms IS NOT NULL);
            SELECT array_agg(s.run ORDER BY s.b) INTO coarse
              FROM (SELECT g.b, sum(t.v[g.b + 1] + coalesce(x.n, 0)) OVER (ORDER BY g.b) AS run
                      FROM (SELECT ARRAY[%1$s] AS v
                              FROM (SELECT * FROM rt_coarse_hour h
                                     WHERE h.bucket >= k.h1 AND h.bucket < k.h2
                                    UNION ALL
                                    SELECT * FROM rt_coarse_minute m
                                     WHERE m.bucket >= k.m1 AND m.bucket < k.h1
                                    UNION ALL
                                    SELECT * FROM rt_coarse_minute m
                                     WHERE m.bucket >= k.h2 AND m.bucket < k.m2) t) t
                     CROSS JOIN generate_series(0, 136) g(b)
                      LEFT JOIN (SELECT c >> 7 AS b, count(*) AS n FROM unnest(edges) c
                                  GROUP BY 1) x ON x.b = g.b) s;
            total := coarse[137];
            IF total = 0 THEN
                RETURN QUERY SELECT NULL::float8, NULL::float8, NULL::float8, NULL::numeric,
                                    NULL::numeric, 0::bigint;
                RETURN;
            END IF;

            b := width_bucket(0, coarse);
            SELECT e.response_time_ms INTO lowest FROM log_entries e
             WHERE e.response_time_ms >= rt_cell_floor(b * 128)
               AND e.response_time_ms < rt_cell_floor((b + 1) * 128)
               AND e."timestamp" >= p_from AND e."timestamp" < p_to
             ORDER BY e.response_time_ms LIMIT 1;
            b := width_bucket(total - 1, coarse);
            SELECT e.response_time_ms INTO highest FROM log_entries e
             WHERE e.response_time_ms >= rt_cell_floor(b * 128)
               AND e.response_time_ms < rt_cell_floor((b + 1) * 128)
               AND e."timestamp" >= p_from AND e."timestamp" < p_to
             ORDER BY e.response_time_ms DESC LIMIT 1;

            FOREACH pos IN ARRAY pct LOOP
                ranks := ranks || floor(pos * (total - 1))::bigint
                               || ceil(pos * (total - 1))::bigint;
            END LOOP;
            -- The coarse bin of each rank; then the running totals over the fine cells of
            -- every such bin, in one statement: fine[(p - 1) * 128 + j + 1] for cell j of the
            -- p-th bin of bins.
            bins := ARRAY(SELECT DISTINCT width_bucket(x.r, coarse) FROM unnest(ranks) x(r)
                           ORDER BY 1);
            SELECT array_agg(s.run ORDER BY s.b, s.j) INTO fine
              FROM (SELECT bb.b, g.j,
                           sum(coalesce(t.v[g.j + 1], 0) + coalesce(x.n, 0))
                             OVER (PARTITION BY bb.b ORDER BY g.j) AS run
                      FROM unnest(bins) bb(b)
                     CROSS JOIN generate_series(0, 127) g(j)
                      LEFT JOIN (SELECT t.coarse, ARRAY[%2$s] AS v
                                   FROM (SELECT * FROM rt_fine_hour h WHERE h.coarse = ANY (bins)
                                            AND h.bucket >= k.h1 AND h.bucket < k.h2
                                         UNION ALL
                                         SELECT * FROM rt_fine_minute m WHERE m.coarse = ANY (bins)
                                            AND m.bucket >= k.m1 AND m.bucket < k.h1
                                         UNION ALL
                                         SELECT * FROM rt_fine_minute m WHERE m.coarse = ANY (bins)
                                            AND m.bucket >= k.h2 AND m.bucket < k.m2) t
                                  GROUP BY t.coarse) t ON t.coarse = bb.b
                      LEFT JOIN (SELECT c >> 7 AS b, c & 127 AS j, count(*) AS n
                                   FROM unnest(edges) c WHERE c >> 7 = ANY (bins)
                                  GROUP BY 1, 2) x ON x.b = bb.b AND x.j = g.j) s;

            FOR i IN 1 .. 6 LOOP
                IF i > 1 AND ranks[i] = ranks[i - 1] THEN
                    vals[i] := vals[i - 1];
                    CONTINUE;
                END IF;
                IF i > 1 AND ranks[i] = ranks[i - 1] + 1 AND two[2] IS NOT NULL THEN
                    vals[i] := two[2];
                    two := NULL;
                    CONTINUE;
                END IF;
                -- The coarse bin b holding the rank, the fine cell j in it, and the rank r left
                -- within the cell.
                r := ranks[i];
                b := width_bucket(r, coarse);
                IF b > 0 THEN r := r - coarse[b]; END IF;
                p := array_position(bins, b) - 1;
                j := width_bucket(r, fine[p * 128 + 1 : p * 128 + 128]);
                IF j > 0 THEN r := r - fine[p * 128 + j]; END IF;
                -- The window's rows in the cell from rank r on. Both bounds of the cell keep the
                -- generic plan on the index in value order.
                SELECT array_agg(q.v ORDER BY q.v) INTO two
                  FROM (SELECT e.response_time_ms AS v FROM log_entries e
                         WHERE e.response_time_ms >= rt_cell_floor(b * 128 + j)
                           AND e.response_time_ms < rt_cell_floor(b * 128 + j + 1)
                           AND e."timestamp" >= p_from AND e."timestamp" < p_to
                         ORDER BY e.response_time_ms OFFSET r LIMIT 2) q;
                vals[i] := two[1];
            END LOOP;

            FOR i IN 1 .. 3 LOOP
                lo := vals[2 * i - 1]::float8;
                hi := vals[2 * i]::float8;
                pos := pct[i] * (total - 1);
                IF ranks[2 * i] > ranks[2 * i - 1] THEN
                    res[i] := lo + ((pos - ranks[2 * i - 1]) * (hi - lo));
                ELSE
                    res[i] := lo;
                END IF;
            END LOOP;
            RETURN QUERY SELECT res[1], res[2], res[3], lowest, highest, total;
        END
        $b$ $f$, coarse_sums, fine_sums);

    -- Backfill: when the per-cell totals of the fine tables or the per-bin totals of the coarse
    -- ones differ from log_entries (rows from before the triggers), all four are rebuilt from
    -- it, with writers locked out meanwhile. Applying the file again finds them exact and does
    -- nothing.
    LOCK TABLE log_entries IN SHARE MODE;
    EXECUTE format($f$
        WITH want AS (SELECT rt_cell(response_time_ms) AS cell, count(*) AS n
                        FROM log_entries WHERE response_time_ms IS NOT NULL GROUP BY 1),
             want_coarse AS (SELECT cell >> 7 AS b, sum(n) AS n FROM want GROUP BY 1),
             fine AS (SELECT 'minute' AS lvl, t.coarse * 128 + v.j AS cell, sum(v.n) AS n
                        FROM rt_fine_minute t, LATERAL (VALUES %1$s) v(j, n)
                       WHERE v.n <> 0 GROUP BY 2
                      UNION ALL
                      SELECT 'hour', t.coarse * 128 + v.j, sum(v.n)
                        FROM rt_fine_hour t, LATERAL (VALUES %1$s) v(j, n)
                       WHERE v.n <> 0 GROUP BY 2),
             coarse AS (SELECT 'minute' AS lvl, v.b, sum(v.n) AS n
                          FROM rt_coarse_minute t, LATERAL (VALUES %2$s) v(b, n)
                         WHERE v.n <> 0 GROUP BY 2
                        UNION ALL
                        SELECT 'hour', v.b, sum(v.n)
                          FROM rt_coarse_hour t, LATERAL (VALUES %2$s) v(b, n)
                         WHERE v.n <> 0 GROUP BY 2)
        SELECT EXISTS (SELECT FROM (SELECT l.lvl, w.cell, w.n FROM want w,
                                           (VALUES ('minute'), ('hour')) l(lvl)) w
                                   FULL JOIN fine f USING (lvl, cell)
                        WHERE w.n IS DISTINCT FROM f.n)
            OR EXISTS (SELECT FROM (SELECT l.lvl, w.b, w.n FROM want_coarse w,
                                           (VALUES ('minute'), ('hour')) l(lvl)) w
                                   FULL JOIN coarse c USING (lvl, b)
                        WHERE w.n IS DISTINCT FROM c.n)
        $f$, fine_unpivot, coarse_unpivot) INTO stale;
    IF stale THEN
        TRUNCATE rt_coarse_minute, rt_coarse_hour, rt_fine_minute, rt_fine_hour;
        PERFORM rt_hist_add(ARRAY(
            SELECT ROW(d.bucket, d.cell, d.n)::rt_delta
              FROM (SELECT date_trunc('minute', e."timestamp", 'UTC') AS bucket,
                           rt_cell(e.response_time_ms) AS cell, count(*) AS n
                      FROM log_entries e WHERE e.response_time_ms IS NOT NULL GROUP BY 1, 2) d));
    END IF;
END
$gen$;
