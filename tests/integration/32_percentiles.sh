#!/usr/bin/env bash
# 32_percentiles.sh -- response_time_summary() (db/percentiles.sql) against percentile_cont,
# min, max and count over the same rows: on the seeded data for many windows, on values
# at every cell boundary, after inserts, updates, deletes and truncate, and after a rebuild of
# damaged histograms; the cell mapping itself; and the plan of its per-rank scan.
. "$(dirname "$0")/../lib.sh"

T0="'2001-02-03 04:00:00+00'::timestamptz" # an hour of its own for the boundary values
sql "DELETE FROM log_entries WHERE log_id LIKE 't32-%'" >/dev/null

# Windows (from, to) for which response_time_summary() differs from the plain definition,
# given as a query of (from, to) rows; every comparison runs in one statement, one snapshot.
mismatches() { # windows-query
  sql "SELECT count(*) FROM ($1) w(t0, t1),
         LATERAL response_time_summary(w.t0, w.t1) r,
         LATERAL (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99])
                           WITHIN GROUP (ORDER BY e.response_time_ms::float8) AS p,
                         min(e.response_time_ms) AS mn, max(e.response_time_ms) AS mx,
                         count(e.response_time_ms) AS n
                    FROM log_entries e WHERE e.\"timestamp\" >= w.t0 AND e.\"timestamp\" < w.t1) x
        WHERE (r.p50, r.p95, r.p99, r.min, r.max, r.n)
              IS DISTINCT FROM (x.p[1], x.p[2], x.p[3], x.mn, x.mx, x.n)"
}
# Fixed windows: all time, the monitoring day, whole hours, inside one minute, one row's
# instant, an empty future; then 40 ragged windows of random length (fixed seed).
WINDOWS="VALUES ('-infinity'::timestamptz, 'infinity'::timestamptz),
                (now() - interval '24 hours', now()),
                (date_trunc('hour', now() - interval '20 hours'), date_trunc('hour', now())),
                (date_trunc('minute', now() - interval '2 hours') + interval '3 seconds',
                 date_trunc('minute', now() - interval '2 hours') + interval '40 seconds'),
                ((SELECT max(\"timestamp\") FROM log_entries WHERE \"timestamp\" < now()),
                 (SELECT max(\"timestamp\") FROM log_entries WHERE \"timestamp\" < now())
                   + interval '1 microsecond'),
                (now() + interval '1 day', now() + interval '2 days')"
RAGGED="SELECT s, s + random() * interval '30 hours'
          FROM (SELECT setseed(0.32)) seed,
               LATERAL (SELECT now() - random() * interval '50 hours' AS s
                          FROM generate_series(1, 40)) g"
all_exact() { # label
  eq "$1: equal to percentile_cont/min/max/count in 6 fixed windows" "$(mismatches "$WINDOWS")" 0
  eq "$1: equal in 40 ragged windows" "$(mismatches "$RAGGED")" 0
  eq "$1: equal around the boundary values" \
    "$(mismatches "VALUES ($T0, $T0 + interval '1 hour'), ($T0 + interval '10 minutes', $T0 + interval '1 hour 5 minutes 30 seconds')")" 0
}

check "the seeded day has response times to rank" \
  test "$(sql "SELECT n FROM response_time_summary(now() - interval '24 hours', now())")" -gt 1000
all_exact "seeded data"

# ---- the cells ---------------------------------------------------------------------------
# Every value lies in its cell's range, and cells follow the values' order: over every value
# up to 300 ms, and around each power of two up to the column's maximum.
VALUES_SQL="SELECT (g / 100.0)::numeric(10, 2) AS v FROM generate_series(0, 30000) g
            UNION ALL
            SELECT ((1::bigint << b) + d) / 100.0 FROM generate_series(0, 33) b,
                   generate_series(-2, 2) d WHERE (1::bigint << b) + d BETWEEN 0 AND 9999999999
            UNION ALL SELECT 99999999.99"
eq "every value lies in [rt_cell_floor(cell), rt_cell_floor(cell + 1))" \
  "$(sql "SELECT count(*) FROM ($VALUES_SQL) x
          WHERE NOT (v >= rt_cell_floor(rt_cell(v)) AND v < rt_cell_floor(rt_cell(v) + 1))")" 0
eq "cells are ordered like the values" \
  "$(sql "SELECT count(*) FROM (SELECT v, rt_cell(v) AS c, lag(rt_cell(v)) OVER (ORDER BY v) AS p
                                FROM (SELECT DISTINCT v FROM ($VALUES_SQL) x) y) z WHERE c < p")" 0
eq "cells: exact below 10.24 ms, 1,024 per doubling above, one past 671,088.64 ms" \
  "$(sql "SELECT rt_cell(10.23) || ' ' || rt_cell(10.24) || ' ' || rt_cell(20.47) || ' ' || rt_cell(20.48)
                 || ' ' || rt_cell(20.49) || ' ' || rt_cell(671088.63) || ' ' || rt_cell(671088.64)
                 || ' ' || rt_cell(99999999.99)")" "1023 1024 2047 2048 2048 17407 17408 17408"

# ---- boundary values, duplicates and NULLs in an hour of their own ---------------------------
sql "INSERT INTO log_entries (log_id, \"timestamp\", level, message, source_type, response_time_ms)
     SELECT 't32-' || i, $T0 + (i % 3600) * interval '1 second' + interval '0.25 seconds', 'INFO',
            'T32 boundary', 'application', v
       FROM unnest(ARRAY[0, 0.01, 10.23, 10.24, 10.25, 20.47, 20.48, 20.49, 40.95, 40.96, 150.00,
                         150.07, 150.08, 150.08, 150.08, 5000, 671088.63, 671088.64, 99999999.99,
                         NULL, NULL]::numeric[]) WITH ORDINALITY u(v, i)" >/dev/null
all_exact "after inserting boundary values"
eq "the boundary hour's min, max and count" \
  "$(sql "SELECT min || ' ' || max || ' ' || n FROM response_time_summary($T0, $T0 + interval '1 hour')")" \
  "0.00 99999999.99 19"
eq "a window of two rows interpolates between them" \
  "$(sql "SELECT p50 FROM response_time_summary($T0 + interval '1 second', $T0 + interval '3 seconds')")" \
  "0.005"

# ---- writes keep the histograms exact ----------------------------------------------------------
sql "UPDATE log_entries SET response_time_ms = response_time_ms * 3 + 0.01
      WHERE log_id IN ('t32-3', 't32-12', 't32-19')" >/dev/null
sql "UPDATE log_entries SET \"timestamp\" = \"timestamp\" + interval '37 minutes'
      WHERE log_id IN ('t32-4', 't32-13')" >/dev/null
sql "UPDATE log_entries SET response_time_ms = NULL WHERE log_id = 't32-5'" >/dev/null
sql "UPDATE log_entries SET response_time_ms = 42 WHERE log_id = 't32-20'" >/dev/null
sql "UPDATE log_entries SET response_time_ms = response_time_ms + 1
      WHERE id IN (SELECT id FROM log_entries WHERE \"timestamp\" > now() - interval '3 hours'
                    ORDER BY id LIMIT 200)" >/dev/null
all_exact "after updates"
sql "DELETE FROM log_entries WHERE log_id IN ('t32-1', 't32-2', 't32-11')" >/dev/null
sql "DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries WHERE \"timestamp\" > now() - interval '5 hours'
                                            ORDER BY id DESC LIMIT 300)" >/dev/null
all_exact "after deletes"
eq "no histogram row is kept at zero" \
  "$(sql "SELECT (SELECT count(*) FROM rt_coarse_minute WHERE n = 0) + (SELECT count(*) FROM rt_coarse_hour WHERE n = 0)
               + (SELECT count(*) FROM rt_fine_minute WHERE n = 0) + (SELECT count(*) FROM rt_fine_hour WHERE n = 0)")" 0
eq "TRUNCATE empties the histograms (rolled back)" \
  "$(sql "SET client_min_messages = warning; BEGIN; TRUNCATE log_entries CASCADE;
          SELECT (SELECT count(*) FROM rt_coarse_minute) + (SELECT count(*) FROM rt_coarse_hour)
               + (SELECT count(*) FROM rt_fine_minute) + (SELECT count(*) FROM rt_fine_hour); ROLLBACK;")" 0

# ---- rebuild ---------------------------------------------------------------------------------
sig() {
  local t
  for t in rt_coarse_minute rt_coarse_hour rt_fine_minute rt_fine_hour; do
    sql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM $t t"
  done
}
s1=$(sig)
psql_app -1 -f "$ROOT/db/percentiles.sql" >/dev/null
eq "percentiles.sql applied again changes no histogram row" "$(sig)" "$s1"
sql "UPDATE rt_coarse_hour SET c40 = c40 + 1 WHERE bucket = (SELECT max(bucket) FROM rt_coarse_hour)" >/dev/null
sql "UPDATE rt_fine_minute SET f3 = f3 + 2, n = n + 2
      WHERE (coarse, bucket) = (SELECT coarse, bucket FROM rt_fine_minute ORDER BY bucket, coarse LIMIT 1)" >/dev/null
sql "DELETE FROM rt_fine_hour WHERE (coarse, bucket) = (SELECT coarse, bucket FROM rt_fine_hour ORDER BY n DESC LIMIT 1)" >/dev/null
psql_app -1 -f "$ROOT/db/percentiles.sql" >/dev/null
eq "percentiles.sql rebuilds histograms that do not add up to log_entries" "$(sig)" "$s1"
all_exact "after the rebuild"

# ---- the per-rank scan stays on the value index -------------------------------------------------
# Its generic plan once walked the whole window by the timestamp index and sorted it (220 ms at
# 1M rows): the cell's upper bound and the window's bounds must both be index conditions.
plan=$(sql "SET plan_cache_mode = force_generic_plan;
  PREPARE rank_scan(integer, timestamptz, timestamptz, bigint) AS
    SELECT e.response_time_ms FROM log_entries e
     WHERE e.response_time_ms >= rt_cell_floor(\$1) AND e.response_time_ms < rt_cell_floor(\$1 + 1)
       AND e.\"timestamp\" >= \$2 AND e.\"timestamp\" < \$3
     ORDER BY e.response_time_ms OFFSET \$4 LIMIT 1;
  EXPLAIN (FORMAT JSON) EXECUTE rank_scan(4947, now() - interval '24 hours', now(), 10)")
LAST_DETAIL="plan: $(echo "$plan" | jq -c '[.. | objects | select(has("Node Type")) | {"Node Type", "Index Name"}]')"
check "the rank scan reads log_entries_response_time_idx in value order, without a sort" \
  jq -e '[.. | objects | select(has("Node Type"))] as $n
         | ($n | map(.["Index Name"]) | index("log_entries_response_time_idx")) != null
           and ($n | map(.["Node Type"]) | index("Sort")) == null' <<< "$plan"

LAST_DETAIL=$(sql "DELETE FROM log_entries WHERE log_id LIKE 't32-%'" 2>&1)
check "test rows removed" test "$(sql "SELECT count(*) FROM log_entries WHERE log_id LIKE 't32-%'")" = 0
all_exact "after removing the test rows"
