"""Training labels: every fraud-burst transaction (label 1) and a sample of the others (label 0)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.sample_data import params as p
from jobs.sample_data.params import SampleDataParams
from jobs.sample_data.random_columns import uniform
from jobs.schemas import LABELS


def filter_labelled(generated_transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    is_sampled = uniform(params.seed, "label_sample", "id") < p.LABEL_SAMPLE_RATE
    return generated_transactions.filter(F.col("is_burst") | is_sampled)


def with_label(df: DataFrame) -> DataFrame:
    return df.withColumn("label", F.col("is_burst").cast("int"))


def select_labels(df: DataFrame) -> DataFrame:
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in LABELS.fields])


def build_labels(generated_transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    return (
        generated_transactions.transform(filter_labelled, params=params).transform(with_label).transform(select_labels)
    )
