-- The audit rows kept in the warehouse before the audit log had its own folder, oldest first.
SELECT used_at, action, role, clients, matched, run_as_of, detail
FROM audit_log
ORDER BY used_at
