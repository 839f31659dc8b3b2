"""Signing in: login sessions, the login throttle and the password policy."""
