-- auth.sql -- login throttling (/api/auth) and the record of ML batch runs (/api/ml,
-- tools/ml_batch). Part of schema.sql (\ir); idempotent.
--
-- It has no BEGIN/COMMIT of its own: schema.sql includes it inside its transaction. Applied
-- alone, run it as one transaction (`psql -1 -f db/auth.sql`).

SET client_min_messages = warning;

-- Same key as schema.sql: concurrent applications of the schema serialise.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- ---------------------------------------------------------------------------------------------
-- login_failures: one row per throttle key, 'user:<username>' or 'addr:<client address>'.
-- endpoints/auth.c counts every login attempt that has not (yet) succeeded here in the same
-- statement that checks the limit, so all workers of all processes share one count and
-- concurrent attempts cannot slip past it. The window is fixed: it starts at the first
-- counted attempt and a later attempt after it has ended starts a new one. Rows of ended
-- windows are deleted by later logins (the index below finds them).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS login_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL CONSTRAINT login_failures_failures_nonneg CHECK (failures >= 0),
    window_start timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS login_failures_window_start_idx ON login_failures (window_start);

-- ---------------------------------------------------------------------------------------------
-- ml_batch_runs: one row per completed ML batch (common/mlbatch.c), newest last. scored
-- counts the entries the batch scored; inserted and updated split its upserts into new
-- predictions and ones a concurrent batch had written first.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS ml_batch_runs (
    id            serial PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    window_from   timestamptz NOT NULL,
    window_to     timestamptz NOT NULL,
    scored        integer NOT NULL CONSTRAINT ml_batch_runs_scored_nonneg CHECK (scored >= 0),
    inserted      integer NOT NULL CONSTRAINT ml_batch_runs_inserted_nonneg CHECK (inserted >= 0),
    updated       integer NOT NULL CONSTRAINT ml_batch_runs_updated_nonneg CHECK (updated >= 0),
    model_version varchar(50) NOT NULL,
    trigger       varchar(10) NOT NULL CONSTRAINT ml_batch_runs_trigger_check
                  CHECK (trigger IN ('api', 'cli'))
);

-- ---------------------------------------------------------------------------------------------
-- The ML context (common/mlbatch.c) groups the last 24 hours by UTC hour of day, host and
-- source_type in one scan, beside messages and addresses. Without these statistics the planner
-- multiplies the columns' distinct counts, expects about one group per row and sorts the whole
-- window (4-10 s at a million rows); with them it knows the groups are a few thousand and
-- hashes them in one pass. The hour expression must stay the one that query groups by.
-- ---------------------------------------------------------------------------------------------

CREATE STATISTICS IF NOT EXISTS log_entries_ml_context_stats (ndistinct)
    ON (date_part('hour', "timestamp" AT TIME ZONE 'UTC')::int), host, source_type, message
    FROM log_entries;
