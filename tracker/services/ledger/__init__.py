"""Workbooks in and out: the ledger (台账) and department-list imports, their reports, remembered mappings, the web import jobs, and the export."""
