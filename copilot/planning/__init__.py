"""Planning: context assembly, the deterministic runbook planner, the LLM planner and merging."""
