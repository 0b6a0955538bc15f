-- What the expectation-suite checks validate: each source's accepted rows in the extract months
-- named in quality.months_checked for that source (the view of each source is made from its
-- contract by sql/quality/source_view.sql). GX reads these views through its own cursors, so
-- they are persistent views, not temporary ones.
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.months_checked (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL
);
