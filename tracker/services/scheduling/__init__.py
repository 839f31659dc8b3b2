"""Planned work: the annual cascade (004 §30) and the weekly key-work schedule (004 §30, §47)."""
