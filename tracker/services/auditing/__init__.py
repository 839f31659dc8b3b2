"""The audit log read back: searched, told in the office's words, exported (written: ``services/audit.py``)."""
