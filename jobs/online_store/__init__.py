"""The online store: Feast-exact DynamoDB items written from the executors, and the embedded server.

- `encoding`: entity ids, `Value` protobuf bytes and `event_ts` exactly as Feast 0.67 writes them.
- `layout`: what the executors need to know about a feature view (no Feast import on workers).
- `select`: the Spark transformations choosing the latest row per entity in a window.
- `capacity`: partitions, requests in flight and per-partition rate from one write-rate cap.
- `writer`: the per-partition write loop (batches of 25, never older over newer, backoff with full jitter, bounded).
- `tables`: DynamoDB clients and table creation; `embedded`: the dynalite server on loopback and a run's endpoint.
- `registry`: the views to materialize and the intervals the registry records (the store: `jobs.feast_repo`).
- `demo`: the guide's inference.py against the online store, for `make demo`.
"""
