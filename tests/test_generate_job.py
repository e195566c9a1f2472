"""The sample-data generator: deterministic, realistic in shape, and bad rows that break one rule each.

Every realism and rule check is a pandas predicate on the written tables, written from FEATURES.md
and the issue, not from the generator's code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality

from jobs import generate_job
from jobs.sample_data.params import CHARGEBACK_BAD_KINDS, TRANSACTION_BAD_KINDS, SampleDataParams
from jobs.sample_data.random_columns import standard_normal, uniform

PARAMS = SampleDataParams(
    users=400, merchants=60, days=14, transactions=20_000, start_date=dt.date(2026, 1, 1), seed=11, bad_rows=4
)
REFERENCE = pd.Timestamp("2026-01-15")  # end + 1 day, 00:00 UTC, for a run over the 14 generated days
CLI_ARGS = [
    "--users", "400", "--merchants", "60", "--days", "14", "--transactions", "20k",
    "--start-date", "2026-01-01", "--seed", "11", "--bad-rows", "4",
]  # fmt: skip


TABLES = ("raw_transactions", "raw_chargebacks", "labels")


def with_tables_under(config, root):
    tables = dataclasses.replace(
        config.tables,
        raw_transactions=str(root / "transactions"),
        raw_chargebacks=str(root / "chargebacks"),
        labels=str(root / "labels"),
    )
    return dataclasses.replace(config, tables=tables)


def read(spark, path) -> pd.DataFrame:
    return spark.read.format("delta").load(path).toPandas()


@pytest.fixture(scope="module")
def generated(spark, config, tmp_path_factory):
    """One run of the job as the command line drives it (3 id partitions), read back into pandas."""
    job_config = with_tables_under(config, tmp_path_factory.mktemp("generated"))
    args = generate_job.build_parser().parse_args([*CLI_ARGS, "--partitions", "3"])
    generate_job.validate_args(args, job_config)
    result = generate_job.run(spark, job_config, args)
    tables = {name: read(spark, getattr(job_config.tables, name)) for name in TABLES}
    return result, job_config, tables


# --- independent rule predicates (FEATURES.md, table order) ---------------------------------------


def transaction_rule_breaks(txns: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per row rule, True where the row breaks it."""
    amount = txns.amount.astype(float)
    return pd.DataFrame(
        {
            "transaction_id_not_null": txns.transaction_id.isna(),
            "user_id_not_null": txns.user_id.isna(),
            "merchant_id_not_null": txns.merchant_id.isna(),
            "amount_positive_finite": amount.isna() | ~np.isfinite(amount) | (amount <= 0),
            "event_timestamp_not_future": txns.event_timestamp.isna() | (txns.event_timestamp > REFERENCE),
            "created_timestamp_not_before_event": txns.created_timestamp.isna()
            | (txns.created_timestamp < txns.event_timestamp),
        },
        index=txns.index,
    )


def first_broken_rule(txns: pd.DataFrame) -> pd.Series:
    breaks = transaction_rule_breaks(txns)
    first = breaks.idxmax(axis=1).where(breaks.any(axis=1))
    passing = txns[first.isna()].sort_values("created_timestamp", ascending=False)
    losers = passing.index[passing.duplicated("transaction_id", keep="first")]
    first.loc[losers] = "duplicate_transaction_id"
    return first


def used_transactions(txns: pd.DataFrame) -> pd.DataFrame:
    return txns[first_broken_rule(txns).isna()]


def chargeback_first_broken_rule(chargebacks: pd.DataFrame, txns: pd.DataFrame) -> pd.Series:
    used = used_transactions(txns).set_index("transaction_id").event_timestamp
    event = chargebacks.transaction_id.map(used)
    refers = chargebacks.transaction_id.notna() & chargebacks.transaction_id.isin(used.index)
    not_before = chargebacks.chargeback_timestamp.notna() & ~(chargebacks.chargeback_timestamp < event)
    return (
        pd.Series(None, index=chargebacks.index, dtype=object)
        .mask(refers & ~not_before, "chargeback_not_before_transaction")
        .mask(~refers, "transaction_id_refers_to_transaction")
    )


def index_of(ids: pd.Series) -> pd.Series:
    return ids.str.split("_").str[-1].astype(int)


# --- result line and row counts ------------------------------------------------------------------


@pytest.mark.integration
def test_result_line_counts_every_table_and_bad_row_kind(generated):
    result, _, tables = generated
    assert {name: t["rows"] for name, t in result["tables"].items()} == {name: len(df) for name, df in tables.items()}
    assert len(tables["raw_transactions"]) == PARAMS.transactions + 7 * PARAMS.bad_rows
    assert result["bad_rows"] == dict.fromkeys(TRANSACTION_BAD_KINDS + CHARGEBACK_BAD_KINDS, PARAMS.bad_rows)
    assert {t["version"] for t in result["tables"].values()} == {0}
    assert json.dumps(result, default=str)


@pytest.mark.integration
def test_schemas_are_the_declared_ones(spark, generated):
    from jobs.schemas import LABELS, RAW_CHARGEBACKS, RAW_TRANSACTIONS

    _, job_config, _ = generated
    for path, schema in [
        (job_config.tables.raw_transactions, RAW_TRANSACTIONS),
        (job_config.tables.raw_chargebacks, RAW_CHARGEBACKS),
        (job_config.tables.labels, LABELS),
    ]:
        got = spark.read.format("delta").load(path).schema
        assert [(f.name, f.dataType) for f in got.fields] == [(f.name, f.dataType) for f in schema.fields]


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_same_seed_gives_identical_tables_whatever_the_partitioning(spark, generated):
    _, job_config, _ = generated
    rebuilt = generate_job.build_tables(spark, PARAMS, partitions=1)
    for name in TABLES:
        written = spark.read.format("delta").load(getattr(job_config.tables, name))
        assert_df_equality(written, rebuilt[name], ignore_row_order=True, ignore_nullable=True, allow_nan_equality=True)


def test_different_seed_or_knobs_give_different_tables(spark):
    def txns(params):
        tables = generate_job.build_tables(spark, params, partitions=2)
        return tables["raw_transactions"].select("transaction_id", "user_id", "merchant_id", "amount").toPandas()

    small = dataclasses.replace(PARAMS, transactions=500, bad_rows=0)
    base = txns(small)
    other_seed = txns(dataclasses.replace(small, seed=12))
    assert base.transaction_id.tolist() == other_seed.transaction_id.tolist()
    assert (base.amount != other_seed.amount).mean() > 0.9
    assert (base.user_id != other_seed.user_id).mean() > 0.5


def test_partition_count_does_not_change_any_row(spark):
    small = dataclasses.replace(PARAMS, transactions=3_000, bad_rows=2)
    one = generate_job.build_tables(spark, small, partitions=1)
    seven = generate_job.build_tables(spark, small, partitions=7)
    for name in ("raw_transactions", "raw_chargebacks", "labels"):
        assert_df_equality(one[name], seven[name], ignore_row_order=True, allow_nan_equality=True)


# --- realism -------------------------------------------------------------------------------------


@pytest.mark.integration
def test_activity_is_heavy_tailed_per_user_and_per_merchant(generated):
    txns = used_transactions(generated[2]["raw_transactions"])
    per_user = txns.user_id.value_counts()
    per_merchant = txns.merchant_id.value_counts()
    top_users = per_user.iloc[: PARAMS.users // 100].sum() / len(txns)
    top_merchants = per_merchant.iloc[: PARAMS.merchants // 20].sum() / len(txns)
    assert top_users > 0.10, f"top 1% of users hold {top_users:.1%} of transactions"
    assert top_merchants > 0.20, f"top 5% of merchants hold {top_merchants:.1%} of transactions"
    assert per_user.size > PARAMS.users * 0.5


@pytest.mark.integration
def test_amounts_are_positive_and_lognormal_shaped(generated):
    amounts = used_transactions(generated[2]["raw_transactions"]).amount
    assert (amounts > 0).all() and np.isfinite(amounts).all()
    assert (amounts.round(2) == amounts).all()
    assert 35 < amounts.median() < 60
    assert amounts.mean() > 1.2 * amounts.median()
    logs = np.log(amounts)
    assert 0.7 < logs.std() < 1.2


@pytest.mark.integration
def test_a_few_percent_of_rows_land_one_to_three_days_late(generated):
    txns = used_transactions(generated[2]["raw_transactions"])
    lag_days = (pd.to_datetime(txns.ingest_date) - txns.event_timestamp.dt.normalize()).dt.days
    late = lag_days >= 1
    assert 0.015 < late.mean() < 0.06, f"late share {late.mean():.2%}"
    assert lag_days.max() <= 4
    assert (pd.to_datetime(txns.ingest_date) == txns.created_timestamp.dt.normalize()).all()
    assert (txns.created_timestamp > txns.event_timestamp).all()
    assert txns.event_timestamp.min() >= pd.Timestamp("2026-01-01")
    assert txns.event_timestamp.max() < REFERENCE


@pytest.mark.integration
def test_chargebacks_are_commoner_at_risky_merchants_and_for_fraud_users(generated):
    tables = generated[2]
    txns = used_transactions(tables["raw_transactions"])
    charged = txns.transaction_id.isin(tables["raw_chargebacks"].transaction_id.dropna())
    is_risky = index_of(txns.merchant_id).map(PARAMS.is_risky_merchant_index)
    is_fraud_user = index_of(txns.user_id).map(PARAMS.is_fraud_user_index)
    honest = ~is_fraud_user  # fraud bursts also hit risky merchants; judge the merchants on honest users only
    risky_rate, other_rate = charged[honest & is_risky].mean(), charged[honest & ~is_risky].mean()
    assert risky_rate > 5 * other_rate, f"risky {risky_rate:.2%} vs others {other_rate:.2%}"
    assert 0 < other_rate < 0.01
    assert charged[is_fraud_user].mean() > 5 * charged[honest].mean()


@pytest.mark.integration
def test_good_chargebacks_land_the_day_they_are_filed_days_after_the_transaction(generated):
    tables = generated[2]
    cbs = tables["raw_chargebacks"]
    good = cbs[chargeback_first_broken_rule(cbs, tables["raw_transactions"]).isna()]
    events = used_transactions(tables["raw_transactions"]).set_index("transaction_id").event_timestamp
    delay = good.chargeback_timestamp - good.transaction_id.map(events)
    assert delay.min() >= pd.Timedelta(days=2)
    assert delay.max() <= pd.Timedelta(days=42)
    assert (pd.to_datetime(good.ingest_date) == good.chargeback_timestamp.dt.normalize()).all()


@pytest.mark.integration
def test_fraud_labels_mark_bursts_of_fraud_users_at_risky_merchants(generated):
    tables = generated[2]
    labels = tables["labels"]
    txns = used_transactions(tables["raw_transactions"])
    keys = ["user_id", "merchant_id", "event_timestamp"]
    assert len(labels.merge(txns[keys], on=keys, how="inner")) == len(labels)
    fraud = labels[labels.label == 1].sort_values(["user_id", "event_timestamp"])
    assert 0.05 < len(fraud) / len(labels) < 0.5
    assert set(labels.label) == {0, 1}
    assert index_of(fraud.user_id).map(PARAMS.is_fraud_user_index).all()
    assert index_of(fraud.merchant_id).map(PARAMS.is_risky_merchant_index).all()
    gap_to_previous = fraud.groupby("user_id").event_timestamp.diff()
    gap_to_next = -fraud.groupby("user_id").event_timestamp.diff(-1)
    in_burst = (gap_to_previous <= pd.Timedelta(hours=3)) | (gap_to_next <= pd.Timedelta(hours=3))
    assert in_burst.mean() > 0.9
    fraud_share_of_normal = (labels.label == 0).sum() / len(txns)
    assert 0.03 < fraud_share_of_normal < 0.07


# --- bad rows ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_each_bad_transaction_breaks_exactly_its_rule(generated):
    txns = generated[2]["raw_transactions"]
    first = first_broken_rule(txns)
    assert first.value_counts().to_dict() == dict.fromkeys(TRANSACTION_BAD_KINDS, PARAMS.bad_rows)
    assert (transaction_rule_breaks(txns).sum(axis=1) <= 1).all()


@pytest.mark.integration
def test_bad_transactions_vary_how_they_break_and_land_inside_the_read_range(generated):
    txns = generated[2]["raw_transactions"]
    first = first_broken_rule(txns)
    bad_amounts = txns.amount[first == "amount_positive_finite"]
    assert {"zero", "negative", "nan"} <= {
        "zero" if a == 0 else "negative" if a < 0 else "nan" if np.isnan(a) else "inf" for a in bad_amounts
    }
    future = txns[first == "event_timestamp_not_future"]
    assert future.event_timestamp.isna().any() and (future.event_timestamp > REFERENCE).any()
    assert (pd.to_datetime(future.ingest_date) == pd.Timestamp("2026-01-14")).all()
    early = txns[first == "created_timestamp_not_before_event"]
    assert early.created_timestamp.isna().any() and (early.created_timestamp < early.event_timestamp).any()
    ingest = pd.to_datetime(txns.ingest_date[first.notna()])
    assert ingest.between(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-14")).all()


@pytest.mark.integration
def test_each_bad_chargeback_breaks_exactly_its_rule(generated):
    tables = generated[2]
    first = chargeback_first_broken_rule(tables["raw_chargebacks"], tables["raw_transactions"])
    assert first.value_counts().to_dict() == dict.fromkeys(CHARGEBACK_BAD_KINDS, PARAMS.bad_rows)


def test_no_bad_rows_unless_asked(spark):
    tables = generate_job.build_tables(spark, dataclasses.replace(PARAMS, transactions=2_000, bad_rows=0), partitions=2)
    txns = tables["raw_transactions"].toPandas()
    assert first_broken_rule(txns).isna().all()
    assert len(txns) == 2_000


# --- random columns ------------------------------------------------------------------------------


def test_uniform_and_normal_columns_have_their_distributions(spark):
    draws = (
        spark.range(20_000)
        .select(uniform(5, "u", "id").alias("u"), standard_normal(5, "z", "id").alias("z"))
        .toPandas()
    )
    assert draws.u.between(0, 1, inclusive="neither").all()
    deciles = np.histogram(draws.u, bins=10, range=(0, 1))[0] / len(draws)
    assert np.abs(deciles - 0.1).max() < 0.01
    assert abs(draws.z.mean()) < 0.03 and abs(draws.z.std() - 1) < 0.03
    assert draws.u.nunique() == len(draws)


# --- command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--users", "0"], "--users must be at least 1"),
        (["--days", "-3"], "--days must be at least 1"),
        (["--bad-rows", "-1"], "--bad-rows must be 0 or more"),
        (["--transactions", "10", "--bad-rows", "6"], "needs at least 12 --transactions"),
        (["--seed", "-5"], "--seed must be in"),
        (["--partitions", "-2"], "--partitions must be 0"),
        (["--start-date", "2026-13-01"], "not a date"),
        (["--transactions", "ten"], "not a whole number"),
        (["--no-such-knob"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, argv, message):
    code = generate_job.main(argv)
    out = capsys.readouterr()
    assert code == 2
    assert message in out.out + out.err


def test_counts_take_suffixes():
    assert [generate_job.count(t) for t in ["16M", "250k", "1_000", "2b"]] == [16_000_000, 250_000, 1000, 2 * 10**9]
