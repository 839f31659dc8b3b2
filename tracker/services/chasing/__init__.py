"""Chasing a task: reminders and the escalation ladder by rule, the office's rules, and 催办/督办 by hand."""
