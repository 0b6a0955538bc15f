-- What retention deleted (hearth/quality/retention.py): one row per run, source, table and
-- extract month. Counts only, never a value. Ingest's accounting adds the accepted and
-- quarantined rows counted here to what is left of a month (sql/ingest/accounting.sql).
CREATE TABLE IF NOT EXISTS retention_log (
    ran_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- accepted | quarantined | derived
    extract_month VARCHAR,            -- the month the rows arrived in (as_of for derived rows)
    rows BIGINT NOT NULL,
    cutoff DATE NOT NULL,             -- rows dated before this day went
    retention_months BIGINT NOT NULL
)
