"""The monitoring report: one self-contained HTML page drawn from the stored profiles and checks.

Per feature table: freshness (newest snapshot against now; online against offline from the newest
`monitor freshness` verdict), row counts per day, null rate and mean of every feature over time, the
newest day's histogram against its reference, PSI and KS per day with the alert thresholds drawn, the
newest `monitor skew` verdict (served values against the point-in-time join), and links to the Great
Expectations Data Docs. Plots are matplotlib SVG written into the page: no script, no server, nothing
fetched, so it opens on a locked-down cluster or from a CI artifact. Everything drawn is an aggregate
already on the driver (days x features rows).
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen before pyplot loads

from jobs.config import MonitoringConfig  # noqa: E402
from jobs.monitoring.daily_drift import DayDrift  # noqa: E402

SECTIONS = ("freshness", "row-counts", "null-rate-and-mean", "histograms", "drift", "skew", "data-docs")
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 4px 8px; }
.alert { color: #b00020; font-weight: bold; } .ok { color: #1b7f3b; } figure { margin: 0.5em 0; }
section { margin-left: 1em; }
"""


def svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(svg_text: str, caption: str) -> str:
    return f'<figure class="plot">{svg_text}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _grid(count: int, *, width: float = 4.2, height: float = 2.4) -> tuple[Any, list[Any]]:
    columns = min(count, 3)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    flat = list(axes.flat)
    for unused in flat[count:]:
        unused.set_visible(False)
    return figure, flat[:count]


def row_counts_plot(days: Sequence[dt.date], counts: Sequence[int], *, table: str) -> str:
    figure, axis = plt.subplots(figsize=(9, 2.6))
    axis.bar(list(days), list(counts), color="#4c72b0")  # type: ignore[arg-type]  # matplotlib plots dates
    axis.set_title(f"{table}: rows per snapshot day")
    figure.autofmt_xdate()
    return svg(figure)


def over_time_plot(series: Mapping[str, tuple[Sequence[dt.date], Sequence[float | None]]], *, title: str) -> str:
    figure, axes = _grid(len(series))
    for axis, (feature, (days, values)) in zip(axes, sorted(series.items()), strict=True):
        axis.plot(days, [float("nan") if v is None else v for v in values], marker=".", linewidth=1)
        axis.set_title(feature, fontsize=9)
        axis.tick_params(labelsize=7)
        for label in axis.get_xticklabels():
            label.set_rotation(30)
    figure.suptitle(title)
    figure.tight_layout()
    return svg(figure)


def histogram_plot(histograms: Mapping[str, tuple[Sequence[int], Sequence[int]]], *, day: dt.date) -> str:
    figure, axes = _grid(len(histograms))
    for axis, (feature, (reference, current)) in zip(axes, sorted(histograms.items()), strict=True):
        ref_total, cur_total = max(sum(reference), 1), max(sum(current), 1)
        positions = list(range(len(current)))
        axis.bar([p - 0.2 for p in positions], [r / ref_total for r in reference], width=0.4, label="reference")
        axis.bar([p + 0.2 for p in positions], [c / cur_total for c in current], width=0.4, label=str(day))
        axis.set_title(feature, fontsize=9)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=6)
    figure.suptitle(f"share of values per bin: {day} against its reference")
    figure.tight_layout()
    return svg(figure)


def drift_plot(drifts: Sequence[DayDrift], *, config: MonitoringConfig, ks_threshold: float) -> str:
    features = sorted({d.feature for d in drifts})
    figure, axes = _grid(len(features))
    for axis, feature in zip(axes, features, strict=True):
        points = sorted((d.day, d.psi, d.ks_p_value) for d in drifts if d.feature == feature)
        days = [p[0] for p in points]
        axis.plot(days, [p[1] if p[1] is not None else float("nan") for p in points], marker=".", label="PSI")
        axis.axhline(config.psi, color="#b00020", linestyle="--", linewidth=1, label=f"PSI alert {config.psi}")
        ks_axis = axis.twinx()
        ks_axis.set_yscale("log")
        p_values = [max(p[2], 1e-300) if p[2] is not None else float("nan") for p in points]
        ks_axis.plot(days, p_values, color="#55a868", marker="x", linewidth=0.8, label="KS p-value")
        ks_axis.axhline(ks_threshold, color="#55a868", linestyle=":", linewidth=1, label="KS alert")
        axis.set_title(feature, fontsize=9)
        axis.tick_params(labelsize=7)
        ks_axis.tick_params(labelsize=7)
        for label in axis.get_xticklabels():
            label.set_rotation(30)
        axis.legend(fontsize=6, loc="upper left")
        ks_axis.legend(fontsize=6, loc="upper right")
    figure.suptitle("PSI (left) and KS p-value (right, log) per day, with the alert thresholds")
    figure.tight_layout()
    return svg(figure)


def table_section(
    table: str,
    profiles: Sequence[Mapping[str, Any]],
    drifts: Sequence[DayDrift],
    *,
    config: MonitoringConfig,
    ks_threshold: float,
    now: dt.datetime,
) -> str:
    """The sections of one feature table: freshness, row counts, null rate and mean, histograms, drift."""
    days = sorted({p["snapshot_date"] for p in profiles})
    if not days:
        return f'<h2 id="{table}">{table}</h2><p class="alert">No profiles stored for these days.</p>'
    newest = days[-1]
    lag = now.date() - (newest + dt.timedelta(days=1))
    rows_per_day = {p["snapshot_date"]: p["row_count"] for p in profiles}
    features = sorted({p["feature"] for p in profiles})
    by_key = {(p["feature"], p["snapshot_date"]): p for p in profiles}
    means = {f: (days, [by_key.get((f, d), {}).get("mean") for d in days]) for f in features}
    nulls = {f: (days, [by_key.get((f, d), {}).get("null_rate") for d in days]) for f in features}
    newest_drift = {d.feature: d for d in drifts if d.day == newest}
    histograms = {}
    for feature in features:
        current = by_key.get((feature, newest))
        reference_rows = [
            by_key[(feature, d)]
            for d in days
            if feature in newest_drift
            and newest_drift[feature].reference[0] <= d <= newest_drift[feature].reference[1]
            and (feature, d) in by_key
        ]
        if current is not None and reference_rows:
            summed = [sum(r["histogram"][i] for r in reference_rows) for i in range(len(current["histogram"]))]
            histograms[feature] = (summed, list(current["histogram"]))
    alerts = [a for d in drifts for a in d.alerts]
    parts = [
        f'<h2 id="{table}">{table}</h2>',
        f'<section class="freshness"><h3>Freshness</h3><p>Newest snapshot day: <b>{newest}</b> '
        f"(valid from {newest + dt.timedelta(days=1)} 00:00 UTC; {lag.days} day(s) before today).</p></section>",
        '<section class="row-counts"><h3>Rows per day</h3>'
        + _figure(row_counts_plot(days, [rows_per_day[d] for d in days], table=table), "rows per snapshot day")
        + "</section>",
        '<section class="null-rate-and-mean"><h3>Null rate and mean per feature</h3>'
        + _figure(over_time_plot(nulls, title="null rate"), "null rate per day")
        + _figure(over_time_plot(means, title="mean"), "mean per day")
        + "</section>",
        '<section class="histograms"><h3>Newest histogram against its reference</h3>'
        + (_figure(histogram_plot(histograms, day=newest), "histograms") if histograms else "<p>No reference days.</p>")
        + "</section>",
        '<section class="drift"><h3>Drift (PSI, KS)</h3>'
        + (
            _figure(drift_plot(drifts, config=config, ks_threshold=ks_threshold), "drift per day")
            if drifts
            else "<p>No reference days.</p>"
        )
        + _alert_list(alerts)
        + "</section>",
    ]
    return "\n".join(parts)


def _alert_list(alerts: Sequence[str]) -> str:
    if not alerts:
        return '<p class="ok">No drift alert.</p>'
    items = "".join(f"<li>ALERT: {html.escape(a)}</li>" for a in alerts)
    return f'<ul class="alert">{items}</ul>'


def checks_section(checks: Mapping[str, Mapping[str, Any]]) -> str:
    """The newest freshness (online against offline) and skew verdicts."""
    parts = ['<section class="skew"><h2 id="checks">Online store: freshness and skew</h2>']
    freshness = checks.get("freshness")
    if freshness:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(v.get('last_materialized')))}</td>"
            f'<td class="{"alert" if v.get("stale") else "ok"}">{"STALE" if v.get("stale") else "OK"}</td></tr>'
            for name, v in sorted((freshness.get("views") or {}).items())
        )
        parts.append(
            f"<h3>Materialization (checked {html.escape(str(freshness.get('checked_at')))})</h3>"
            f"<table><tr><th>view</th><th>online up to</th><th>verdict</th></tr>{rows}</table>"
        )
    else:
        parts.append("<p>No <code>monitor freshness</code> run recorded.</p>")
    skew = checks.get("skew")
    parts.append(skew_summary(skew) if skew else "<p>No <code>monitor skew</code> run recorded.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def data_docs_section(links: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{html.escape(url)}">{html.escape(label)}</a></li>' for label, url in links)
    body = f"<ul>{items}</ul>" if items else "<p>No Data Docs found.</p>"
    return f'<section class="data-docs"><h2 id="data-docs">Great Expectations Data Docs</h2>{body}</section>'


def render_page(*, title: str, generated_at: dt.datetime, body: Sequence[str]) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Generated {generated_at:%Y-%m-%d %H:%M:%S} UTC from the stored profiles "
        "and monitor checks.</p>" + "\n".join(body) + "</body></html>"
    )


def skew_summary(skew: Mapping[str, Any]) -> str:
    """The newest `monitor skew` verdict: per feature and request day the served rows, how many differ
    from the point-in-time join (skew) and how many only by the TTL, the alerts and the first examples."""
    rows = "".join(
        f"<tr><td>{html.escape(c['view'])}.{html.escape(c['feature'])}</td><td>{html.escape(c['day'])}</td>"
        f'<td>{c["rows"]}</td><td class="{"alert" if c.get("alert") else "ok"}">{c["skew"]} '
        f"({c['skew_rate']:.2%})</td><td>{c['ttl']}</td></tr>"
        for c in skew.get("features") or []
    )
    examples = "".join(
        f"<tr><td>{html.escape(str(e['requested_at']))}</td><td>{html.escape(_key_text(e['key']))}</td>"
        f"<td>{html.escape(e['view'])}.{html.escape(e['feature'])}</td><td>{html.escape(e['kind'])}</td>"
        f"<td>{html.escape(str(e['served']))}</td><td>{html.escape(str(e['offline']))}</td></tr>"
        for e in skew.get("examples") or []
    )
    alerts = skew.get("alerts") or []
    verdict = (
        '<ul class="alert">' + "".join(f"<li>ALERT: {html.escape(a)}</li>" for a in alerts) + "</ul>"
        if alerts
        else f'<p class="ok">No skew alert: {skew.get("mismatches", 0)} differing served values.</p>'
    )
    return (
        f"<h3>Training-serving skew on served requests (checked {html.escape(str(skew.get('checked_at')))})</h3>"
        f"<p>{skew.get('requests', 0)} requests of {html.escape(str(skew.get('feature_service')))} logged "
        f"{html.escape(str(skew.get('start')))}..{html.escape(str(skew.get('end')))}, compared with the "
        f"point-in-time join at request time (tolerance {skew.get('tolerance')}); "
        f"{skew.get('ttl_differences', 0)} served values older than their view's TTL.</p>{verdict}"
        "<table><tr><th>feature</th><th>request day</th><th>served</th><th>skew</th><th>TTL only</th></tr>"
        f"{rows}</table>"
        + (
            "<table><tr><th>requested at</th><th>entity</th><th>feature</th><th>kind</th><th>served</th>"
            f"<th>point-in-time</th></tr>{examples}</table>"
            if examples
            else ""
        )
    )


def _key_text(key: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in key.items())
