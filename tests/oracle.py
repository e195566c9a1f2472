"""Brute-force pandas oracle written from FEATURES.md, independent of the Spark code.

Every snapshot is computed by literally filtering the transactions in its window; nothing is rolled
or delta-encoded. Small data only.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

DAY = pd.Timedelta(days=1)


def used_transactions(raw: pd.DataFrame, *, reference: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply the row rules in table order, then keep the latest created_timestamp per transaction_id."""
    rules = []
    for row in raw.itertuples(index=False):
        rules.append(_first_broken_rule(row, reference))
    checked = raw.assign(rule=rules)
    passing = checked[checked.rule.isna()].sort_values(
        ["transaction_id", "created_timestamp", "event_timestamp", "user_id", "merchant_id", "amount"],
        ascending=[True, False, True, True, True, True],
    )
    is_loser = passing.duplicated("transaction_id", keep="first")
    checked.loc[passing.index[is_loser], "rule"] = "duplicate_transaction_id"
    counts = checked.rule.fillna("used").value_counts().to_dict()
    return checked[checked.rule.isna()].drop(columns="rule"), counts


def _first_broken_rule(row, reference: pd.Timestamp) -> str | None:
    if _missing(row.transaction_id):
        return "transaction_id_not_null"
    if _missing(row.user_id):
        return "user_id_not_null"
    if _missing(row.merchant_id):
        return "merchant_id_not_null"
    if _missing(row.amount) or not math.isfinite(row.amount) or row.amount <= 0:
        return "amount_positive_finite"
    if _missing(row.event_timestamp) or row.event_timestamp > reference:
        return "event_timestamp_not_future"
    if _missing(row.created_timestamp) or row.created_timestamp < row.event_timestamp:
        return "created_timestamp_not_before_event"
    return None


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def first_chargebacks(chargebacks: pd.DataFrame, used: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    events = dict(zip(used.transaction_id, used.event_timestamp, strict=True))
    rules = []
    for row in chargebacks.itertuples(index=False):
        if _missing(row.transaction_id) or row.transaction_id not in events:
            rules.append("transaction_id_refers_to_transaction")
        elif _missing(row.chargeback_timestamp) or row.chargeback_timestamp < events[row.transaction_id]:
            rules.append("chargeback_not_before_transaction")
        else:
            rules.append(None)
    checked = chargebacks.assign(rule=rules)
    counts = checked.rule.fillna("used").value_counts().to_dict()
    good = checked[checked.rule.isna()]
    first = good.groupby("transaction_id", as_index=False).chargeback_timestamp.min()
    return first, counts


def _snapshot_days(start: dt.date, end: dt.date):
    day = pd.Timestamp(start)
    while day <= pd.Timestamp(end):
        yield day
        day += DAY


def _window(txns: pd.DataFrame, day: pd.Timestamp, n: int) -> pd.DataFrame:
    lo, hi = day - (n - 1) * DAY, day + DAY
    return txns[(txns.event_timestamp >= lo) & (txns.event_timestamp < hi)]


def _rows_for(txns: pd.DataFrame, key: str, start, end, n: int, features) -> pd.DataFrame:
    rows = []
    for entity, own in txns.groupby(key):
        for day in _snapshot_days(start, end):
            window = _window(own, day, n)
            if window.empty and _window(own, day - DAY, n).empty:
                continue
            rows.append({key: entity, "event_timestamp": day + DAY, **features(window, day)})
    return pd.DataFrame(rows)


def user_features(used: pd.DataFrame, *, start, end, n: int = 7) -> pd.DataFrame:
    def features(window: pd.DataFrame, day: pd.Timestamp) -> dict:
        count = len(window)
        ordered = window.event_timestamp.sort_values()
        gaps = ordered.diff().dropna().dt.total_seconds()
        return {
            "transaction_count_7d": count,
            "transaction_amount_avg_7d": window.amount.mean() if count else None,
            "transaction_amount_max_7d": window.amount.max() if count else None,
            "unique_merchants_7d": window.merchant_id.nunique(),
            "avg_time_between_transactions": gaps.mean() if count >= 2 else None,
        }

    return _rows_for(used, "user_id", start, end, n, features)


def merchant_features(used: pd.DataFrame, first_cb: pd.DataFrame, *, start, end, n: int = 30) -> pd.DataFrame:
    with_cb = used.merge(first_cb, on="transaction_id", how="left")

    def features(window: pd.DataFrame, day: pd.Timestamp) -> dict:
        count = len(window)
        charged = int((window.chargeback_timestamp < day + DAY).sum())
        return {
            "total_transactions_30d": count,
            "avg_transaction_amount": window.amount.mean() if count else None,
            "chargeback_rate_30d": charged / count if count else 0.0,
            "risk_score": (charged + 0.2) / (count + 20),
        }

    return _rows_for(with_cb, "merchant_id", start, end, n, features)


def assert_frames_match(got: pd.DataFrame, expected: pd.DataFrame, *, key: str, rel: float = 1e-6) -> None:
    """Same rows (by key and event_timestamp) and same values; floats compared at float32 precision."""
    got = got.sort_values([key, "event_timestamp"]).reset_index(drop=True)
    expected = expected.sort_values([key, "event_timestamp"]).reset_index(drop=True)
    got_keys = list(zip(got[key], got.event_timestamp, strict=True))
    expected_keys = list(zip(expected[key], expected.event_timestamp, strict=True))
    missing = sorted(set(expected_keys) - set(got_keys))
    extra = sorted(set(got_keys) - set(expected_keys))
    assert not missing and not extra, f"missing rows {missing[:5]}, unexpected rows {extra[:5]}"
    assert len(got_keys) == len(expected_keys), "duplicate rows"
    for column in expected.columns:
        if column in (key, "event_timestamp"):
            continue
        for i, (g, e) in enumerate(zip(got[column], expected[column], strict=True)):
            if _missing(e) or e is None or (isinstance(e, float) and math.isnan(e)):
                assert g is None or (isinstance(g, float) and math.isnan(g)), f"{column} row {got_keys[i]}: {g} != null"
            else:
                assert g is not None and not (isinstance(g, float) and math.isnan(g)), (
                    f"{column} row {got_keys[i]}: null != {e}"
                )
                assert math.isclose(float(g), float(e), rel_tol=rel, abs_tol=1e-6), (
                    f"{column} row {got_keys[i]}: {g} != {e}"
                )


def point_in_time(
    entities: pd.DataFrame,
    features: pd.DataFrame,
    *,
    entity_key: str,
    feature_key: str,
    ttl: pd.Timedelta | None,
    columns: list[str],
    filter_by_created: bool = False,
) -> list[tuple]:
    """FEATURES.md "Point-in-time join", one entity row at a time: for each row (in order) the values
    of `columns` from the feature row of its key with the greatest event_timestamp in [t - ttl, t],
    ties to the greatest created_timestamp (null loses); with `filter_by_created` (Feast's
    filter_by_created_timestamp) only rows whose created_timestamp is set and <= t count. No row, or
    a null key or t: nulls. Assumes no two candidates tie on both timestamps."""
    out = []
    for row in entities.to_dict("records"):
        key, t = row[entity_key], row["event_timestamp"]
        best = None
        if not _missing(key) and not _missing(t):
            for r in features.to_dict("records"):
                if r[feature_key] != key or _missing(r["event_timestamp"]) or r["event_timestamp"] > t:
                    continue
                if ttl and r["event_timestamp"] < t - ttl:
                    continue
                created = r["created_timestamp"]
                if filter_by_created and (_missing(created) or created > t):
                    continue
                rank = (r["event_timestamp"], not _missing(created), created if not _missing(created) else t)
                if best is None or rank > best[0]:
                    best = (rank, r)
        out.append(tuple(None if best is None or _missing(best[1][c]) else best[1][c] for c in columns))
    return out
