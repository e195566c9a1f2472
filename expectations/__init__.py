"""Great Expectations suites, one module per table, written in code so they are reviewed with the jobs.

Each table module defines `build_suite(params, columns) -> gx.ExpectationSuite`; `expectations.runner`
maps table names to suites and runs one on a Spark DataFrame in few aggregate passes.
"""
