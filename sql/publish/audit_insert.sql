-- One use of a feature that re-identifies or hands out lists: counts only, never an identifier.
INSERT INTO audit_log (used_at, action, role, clients, matched, run_as_of, detail)
VALUES ($used_at, $action, $role, $clients, $matched, $run_as_of, $detail)
