SELECT used_at, action, role, clients, matched, run_as_of, detail
FROM audit_log
ORDER BY used_at DESC
LIMIT $limit
