"""Prompt decomposition: a step's logged messages as a template with typed slots, and its
logged answers as values in a learned output format (see docs/synthesis.md)."""
