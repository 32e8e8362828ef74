"""Cloud Run Jobs: the task environment contract, and starting executions (cloud or local)."""
