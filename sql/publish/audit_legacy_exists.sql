-- Whether the warehouse still has the audit table it held before the audit log had its own
-- folder (HEARTH_HOME/audit); its rows are copied into the log once (hearth/audit.py).
SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'audit_log'
