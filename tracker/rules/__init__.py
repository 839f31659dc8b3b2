"""The office's rules, each written once: pure functions and named constants.

A rule that pages, jobs, imports and documents all need (when a task is overdue,
who is chased at which rung of the ladder, how many working days a phrase means,
which department a name is) lives in one module here, with its SQL expression
beside its Python twin where both are needed, and a parity test that holds the
two against each other. Nothing here imports from ``tracker.web``,
``tracker.api`` or ``dashboard``; the map is ``docs/ARCHITECTURE.md``.
"""
