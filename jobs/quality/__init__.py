"""Data quality: running the suites in `expectations/` from the jobs, Data Docs, and write-audit-publish."""
