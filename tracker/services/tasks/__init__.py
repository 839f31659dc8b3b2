"""A task's life: drafts, going out, progress, requests and decisions, recurring reports, sources, evidence, and the read-side queries."""
