"""The offline store: point-in-time joins for training sets, as a Spark engine and a Feast offline store."""
