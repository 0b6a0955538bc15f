-- Tables of the ingest stage that every source shares. Each source's own table of accepted
-- rows, raw_<source>, is made from its contract by sql/ingest/raw_table.sql.
CREATE TABLE IF NOT EXISTS batch_refusals (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows_received BIGINT,
    rule VARCHAR NOT NULL,
    column_name VARCHAR,
    message VARCHAR NOT NULL,
    refused_at TIMESTAMP NOT NULL
);
