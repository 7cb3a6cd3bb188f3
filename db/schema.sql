-- Schema of the log-analytics API; idempotent: psql -v ON_ERROR_STOP=1 -f db/schema.sql
--
-- Every statement is guarded (DO blocks for types, IF NOT EXISTS / OR REPLACE elsewhere), so the
-- file can be applied any number of times. It runs in one transaction under an advisory lock:
-- a failure leaves nothing half-applied and two concurrent runs (e.g. parallel test set-ups)
-- serialise instead of racing on the catalog. Column names, enum labels and lengths follow
-- the API contract ("Data model"), i.e. the original Python application's schema.

SET client_min_messages = warning;

BEGIN;

-- Arbitrary constant key ("elog" in ASCII) for the schema-migration advisory lock.
DO $$ BEGIN PERFORM pg_advisory_xact_lock(1701604199); END $$;

-- ---------------------------------------------------------------------------------------------
-- Enum types. An existing type with different labels is an error, not something to paper over.
-- ---------------------------------------------------------------------------------------------

DO $$
BEGIN
    IF to_regtype('log_level') IS NULL THEN
        CREATE TYPE log_level AS ENUM ('DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL');
    ELSIF enum_range(NULL::log_level)::text <> '{DEBUG,INFO,WARN,ERROR,FATAL}' THEN
        RAISE EXCEPTION 'type log_level exists with unexpected labels %',
            enum_range(NULL::log_level)::text;
    END IF;

    IF to_regtype('source_type') IS NULL THEN
        CREATE TYPE source_type AS ENUM ('splunk', 'sap', 'application');
    ELSIF enum_range(NULL::source_type)::text <> '{splunk,sap,application}' THEN
        RAISE EXCEPTION 'type source_type exists with unexpected labels %',
            enum_range(NULL::source_type)::text;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- log_entries: one row per log line. The checks enforce the JSON shapes API.md promises
-- (tags an array of strings, the other jsonb columns objects) so no writer can break readers.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS log_entries (
    id                  serial PRIMARY KEY,
    log_id              varchar(255) NOT NULL UNIQUE,
    "timestamp"         timestamptz NOT NULL,
    level               log_level NOT NULL,
    message             text NOT NULL,
    source_type         source_type NOT NULL,
    host                varchar(255),
    service             varchar(255),
    category            varchar(100),
    tags                jsonb NOT NULL DEFAULT '[]'::jsonb,
    raw_log             text,
    structured_data     jsonb,
    request_id          uuid,
    session_id          varchar(255),
    correlation_id      varchar(255),
    ip_address          inet,
    application_type    varchar(100),
    framework           varchar(100),
    http_method         varchar(10),
    http_status         integer,
    endpoint            varchar(500),
    response_time_ms    numeric(10, 2),
    transaction_code    varchar(20),
    sap_system          varchar(100),
    department          varchar(100),
    amount              numeric(15, 2),
    currency            varchar(3),
    document_number     varchar(50),
    splunk_source       varchar(255),
    splunk_host         varchar(255),
    is_anomaly          boolean NOT NULL DEFAULT false,
    anomaly_type        varchar(100),
    error_details       jsonb,
    performance_metrics jsonb,
    business_context    jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT log_entries_log_id_nonempty CHECK (log_id <> ''),
    CONSTRAINT log_entries_tags_strings CHECK (
        jsonb_typeof(tags) = 'array'
        AND NOT jsonb_path_exists(tags, '$[*] ? (@.type() != "string")')),
    CONSTRAINT log_entries_structured_data_object CHECK (
        structured_data IS NULL OR jsonb_typeof(structured_data) = 'object'),
    CONSTRAINT log_entries_error_details_object CHECK (
        error_details IS NULL OR jsonb_typeof(error_details) = 'object'),
    CONSTRAINT log_entries_performance_metrics_object CHECK (
        performance_metrics IS NULL OR jsonb_typeof(performance_metrics) = 'object'),
    CONSTRAINT log_entries_business_context_object CHECK (
        business_context IS NULL OR jsonb_typeof(business_context) = 'object'),
    CONSTRAINT log_entries_http_status_range CHECK (http_status BETWEEN 100 AND 599),
    CONSTRAINT log_entries_response_time_nonneg CHECK (response_time_ms >= 0)
);

-- Keep updated_at honest on UPDATE (inserts and COPY use the column default and pay nothing).
CREATE OR REPLACE FUNCTION log_entries_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER log_entries_touch_updated_at
    BEFORE UPDATE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- ml_predictions: at most one prediction per log entry (the batch upserts on log_entry_id).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS ml_predictions (
    id                  serial PRIMARY KEY,
    log_entry_id        integer NOT NULL UNIQUE
                        REFERENCES log_entries (id) ON DELETE CASCADE,
    predicted_level     varchar(10),
    level_confidence    real,
    is_anomaly          boolean,
    anomaly_score       real,
    anomaly_confidence  real,
    severity            varchar(10)
                        CONSTRAINT ml_predictions_severity_check
                        CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    model_version       varchar(50),
    predicted_at        timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- users: accounts for /api/auth. password_hash holds a self-describing slow salted hash
-- (PBKDF2-SHA256 or better); permissions is a JSON array of permission names.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS users (
    id              serial PRIMARY KEY,
    username        varchar(100) NOT NULL UNIQUE,
    email           varchar(255),
    password_hash   text NOT NULL,
    role            varchar(20) NOT NULL DEFAULT 'user'
                    CONSTRAINT users_role_check
                    CHECK (role IN ('admin', 'analyst', 'user', 'viewer')),
    permissions     jsonb NOT NULL DEFAULT '[]'::jsonb
                    CONSTRAINT users_permissions_array
                    CHECK (jsonb_typeof(permissions) = 'array'),
    is_active       boolean NOT NULL DEFAULT true,
    last_login      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- Indexes: a first set for the routes' queries; to be tuned by EXPLAIN at 1M+ rows.
-- (log_entries.log_id, ml_predictions.log_entry_id and users.username are already indexed
-- by their UNIQUE constraints.)
-- ---------------------------------------------------------------------------------------------

-- /api/logs listing and keyset cursor: ORDER BY timestamp DESC, id DESC; also every
-- "last N hours" range scan.
CREATE INDEX IF NOT EXISTS log_entries_timestamp_id_idx
    ON log_entries ("timestamp" DESC, id DESC);

-- Level filter within a time range; per-level counts over a window.
CREATE INDEX IF NOT EXISTS log_entries_level_timestamp_idx
    ON log_entries (level, "timestamp");

-- Incidents / alerts / filter=anomaly: a small slice of the table (about 3 % of rows).
-- Queries must spell the predicate the same way for the planner to use this index.
CREATE INDEX IF NOT EXISTS log_entries_alert_timestamp_idx
    ON log_entries ("timestamp")
    WHERE is_anomaly OR level IN ('ERROR', 'FATAL');

-- ML routes: predictions of the last 24 h / last hour.
CREATE INDEX IF NOT EXISTS ml_predictions_predicted_at_idx
    ON ml_predictions (predicted_at);

-- Case-insensitive substring search on message (ILIKE '%...%') needs pg_trgm. pg_trgm is a
-- trusted extension, so a database owner may create it; if that is still refused, the schema
-- stays valid without the index and search falls back to a scan.
DO $$
DECLARE
    opclass text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pg_trgm unavailable (%); message search will not be indexed', SQLERRM;
    END;

    SELECT quote_ident(n.nspname) || '.gin_trgm_ops' INTO opclass
      FROM pg_opclass c
      JOIN pg_namespace n ON n.oid = c.opcnamespace
      JOIN pg_am a ON a.oid = c.opcmethod
     WHERE c.opcname = 'gin_trgm_ops' AND a.amname = 'gin'
     LIMIT 1;

    IF opclass IS NOT NULL THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS log_entries_message_trgm_idx '
                       'ON log_entries USING gin (message %s)', opclass);
    END IF;
END
$$;

-- The parts owned by each group of routes, inside this transaction, each idempotent.
\ir logs.sql
\ir percentiles.sql
\ir dashboard.sql
\ir auth.sql

COMMIT;
