"""Deterministic sample raw data, built with Spark from `spark.range` ids.

Every generated column is a pure function of a row's id and the seed (hash-based pseudo-random
numbers), so a seed gives the same tables whatever the partitioning, and the data scales with the
cluster rather than the driver. `jobs.generate_job` composes these transformations and writes them.
"""
