"""Monitoring history end to end: the features job stores daily profiles, `monitor drift --daily` finds an
injected shift from them (and nothing on clean data), and `monitor report` renders a page offline.

Data: the sample generator (600 users, 60 merchants), once as generated and once with the amounts of
half the merchants multiplied by 3 from 2026-02-12 on. Oracle: which features the shift can move (the
amount features of FEATURES.md) and from which snapshot day.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from conftest import write_job_config
from jobs.config import load_config
from jobs.features.run_range import DateRange
from jobs.features_job import compute_features
from jobs.generate_job import generate
from jobs.monitor_job import main
from jobs.monitoring.history import read_profiles
from jobs.monitoring.report import SECTIONS
from jobs.sample_data.params import SampleDataParams
from jobs.schemas import SNAPSHOT_DATE

pytestmark = pytest.mark.integration

SHIFT_DAY = dt.date(2026, 2, 12)
RUN = DateRange("2026-02-02", "2026-02-18")
DRIFT_DAYS = ["--start", "2026-02-09", "--end", "2026-02-18"]
AMOUNT_FEATURES = {
    "user_transaction_features": {"transaction_amount_avg_7d", "transaction_amount_max_7d"},
    "merchant_risk_features": {"avg_transaction_amount"},
}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """{"clean": config file, "shifted": config file}, each with its feature tables computed."""
    files = {}
    for name in ("clean", "shifted"):
        root = tmp_path_factory.mktemp(name)
        files[name] = write_job_config(root, audit_feature_writes=False)
        config = load_config(config_file=str(files[name]))
        params = SampleDataParams(
            users=600, merchants=60, days=52, transactions=36000, start_date=dt.date(2026, 1, 1), seed=5
        )
        generate(spark, config, params)
        if name == "shifted":
            raw = spark.read.format("delta").load(config.tables.raw_transactions)
            hit = (F.abs(F.hash("merchant_id")) % 2 == 0) & (F.col("event_timestamp") >= F.lit(str(SHIFT_DAY)))
            shifted = raw.withColumn("amount", F.when(hit, F.col("amount") * 3).otherwise(F.col("amount")))
            shifted.write.format("delta").mode("overwrite").partitionBy("ingest_date").save(str(root / "shifted"))
            shutil.rmtree(config.tables.raw_transactions)
            shutil.move(str(root / "shifted"), config.tables.raw_transactions)
        compute_features(spark, config, run_range=RUN)
    return files


def drift(table: str, config_file: Path, capsys) -> tuple[int, dict]:
    code = main(["drift", "--daily", "--tables", table, *DRIFT_DAYS, "--config", str(config_file)])
    out = capsys.readouterr().out.splitlines()
    return code, json.loads([line for line in out if line.startswith("{")][-1])


@pytest.mark.parametrize("table", sorted(AMOUNT_FEATURES))
def test_clean_data_raises_no_drift_alert(runs, table, capsys):
    code, result = drift(table, runs["clean"], capsys)
    assert (code, result["alerts"], result["profiled_days"]) == (0, [], []), result["alerts"][:3]
    assert result["compared"] == len(result["days"]) == 10 * (5 if table == "user_transaction_features" else 4)


@pytest.mark.parametrize("table", sorted(AMOUNT_FEATURES))
def test_shifted_amounts_alert_on_the_amount_features_from_the_shift_day_only(runs, table, capsys):
    code, result = drift(table, runs["shifted"], capsys)
    assert code == 1
    alerted = {(d["feature"], dt.date.fromisoformat(d["day"])) for d in result["days"] if d["alerts"]}
    assert {feature for feature, _ in alerted} == AMOUNT_FEATURES[table]
    assert min(day for _, day in alerted) >= SHIFT_DAY
    assert min(day for _, day in alerted) <= SHIFT_DAY + dt.timedelta(days=2), "the shift is found within 2 days"
    for alert in result["alerts"]:
        assert re.fullmatch(rf"{table}\.\w+ on \d{{4}}-\d\d-\d\d: (PSI [\d.]+ > 0\.2|KS p-value \S+ < \S+)", alert)


def test_profiles_are_one_row_per_day_and_feature_and_a_rerun_replaces_them(spark, runs):
    config = load_config(config_file=str(runs["clean"]))
    table = "user_transaction_features"
    before = read_profiles(spark, config, table=table, start=RUN.start, end=RUN.end)
    assert len(before) == RUN.days() * 5
    # A one-day run reads fewer landing days than the backfill (no rows landed after it), so the day's
    # rows can change; its profile must describe the rows now published.
    day = dt.date(2026, 2, 10)
    compute_features(spark, config, run_range=DateRange(day, day))
    after = read_profiles(spark, config, table=table, start=RUN.start, end=RUN.end)
    assert len(after) == len(before)
    rerun = {r["run_id"] for r in after if r[SNAPSHOT_DATE] == day}
    assert len(rerun) == 1 and rerun != {r["run_id"] for r in before if r[SNAPSHOT_DATE] == day}
    assert [r for r in after if r[SNAPSHOT_DATE] != day] == [r for r in before if r[SNAPSHOT_DATE] != day]
    published = spark.read.format("delta").load(config.tables.user_features).filter(F.col(SNAPSHOT_DATE) == day)
    rows = published.count()
    for profile in (r for r in after if r[SNAPSHOT_DATE] == day):
        nulls = published.filter(F.col(profile["feature"]).isNull() | F.isnan(profile["feature"])).count()
        assert (profile["row_count"], profile["null_count"]) == (rows, nulls), profile["feature"]


def test_report_renders_every_section_offline(runs, tmp_path, capsys):
    drift("user_transaction_features", runs["shifted"], capsys)  # a recorded check for the report
    output = tmp_path / "report.html"
    code = main(["report", *DRIFT_DAYS, "--output", str(output), "--config", str(runs["shifted"])])
    out = capsys.readouterr().out
    assert code == 0, out
    page = output.read_text()
    assert "<img" not in page and "<script" not in page and not re.search(r"""(src|href)=["']?https?:""", page)
    for table in AMOUNT_FEATURES:
        start = page.index(f'<h2 id="{table}">')
        block = page[start : page.find("<h2 ", start + 1)]
        for section in ("freshness", "row-counts", "null-rate-and-mean", "histograms", "drift"):
            part = block[block.index(f'<section class="{section}">') :]
            part = part[: part.index("</section>")]
            assert section == "freshness" or "<svg" in part, (table, section)
        assert "ALERT: " + table in block
    assert set(SECTIONS) <= set(re.findall(r'<section class="([\w-]+)"', page))

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "monitoring_report.png"
    screenshot.unlink(missing_ok=True)
    shown = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]
        + [f"--user-data-dir={tmp_path / 'chromium'}", "--enable-logging=stderr", "--v=0"]
        + ["--window-size=1400,4000", f"--screenshot={screenshot}", output.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert screenshot.stat().st_size > 50_000, "the screenshot shows an empty page"
    assert not re.search(r"CONSOLE|Uncaught|ERR_FILE_NOT_FOUND", shown.stderr), shown.stderr[-2000:]
