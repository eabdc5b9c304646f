"""Early warning, live: gathers the figures, evaluates the rules once per cluster, raises and
clears alerts, pushes them to supervisors (rules and store in server/alerts)."""
