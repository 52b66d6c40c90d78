"""copilot: an LLM-assisted ChatOps copilot for on-call engineers.

Proposes typed, grounded tool calls; a deterministic guard decides; humans approve;
approved calls execute exactly once; every step lands in a hash-chained audit log.
"""

__version__ = "0.1.0"
