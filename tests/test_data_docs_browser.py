"""The Data Docs page of a failed validation opens in headless Chromium, with no network, and shows the
failures; the index lists the validation (its table is built by a script that must load offline).

Chromium is installed by `make browser` (Debian's `chromium` package); without it this test fails.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from dq_support import day, nullable, ts

from expectations.common import MIDNIGHT_REGEX
from jobs.config import load_config
from jobs.quality.validation import suite_params, validate_table
from jobs.schemas import USER_TRANSACTION_FEATURES

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No network: every name resolves nowhere and every connection goes to a closed loopback port.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=socks5://127.0.0.1:9",
    "--virtual-time-budget=5000",
]

# Chromium's own background calls (update, clock and account checks), which no page asked for.
CHROMIUM_OWN_HOSTS = (".google.com", ".googleapis.com")

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TRACKED = re.compile(r"section-\d+-content-block-1-header|section-\d+-content-block-2-cell-\d+-\d+")


class ValidationPage(HTMLParser):
    """Reads the rendered page: its text, and per section (column) the expectations whose status is failed."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.cells: dict[str, list[str]] = {}
        self.failed_cells: set[str] = set()
        self._depth = 0
        self._open: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in VOID_TAGS:
            return
        self._depth += 1
        element_id = attributes.get("id") or ""
        if TRACKED.fullmatch(element_id):
            self._open.append((element_id, self._depth))
            self.cells[element_id] = []
        if tag == "i" and "fa-times" in (attributes.get("class") or "") and self._open:
            self.failed_cells.add(self._open[-1][0])

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if self._open and self._open[-1][1] == self._depth:
            self._open.pop()
        self._depth -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self.cells[self._open[-1][0]].append(data)

    def cell_text(self, element_id: str) -> str:
        return " ".join("".join(self.cells.get(element_id, [])).split())

    def failed_expectations(self) -> set[tuple[str, str]]:
        """(section header, expectation text) for each row whose status cell shows the failure icon."""
        found = set()
        status_cells = (re.fullmatch(r"(section-\d+)-content-block-2-cell-(\d+)-1", c) for c in self.failed_cells)
        for section, row in (m.groups() for m in status_cells if m):
            header = self.cell_text(f"{section}-content-block-1-header")
            found.add((header, self.cell_text(f"{section}-content-block-2-cell-{row}-2")))
        return found


def test_failed_validation_page_renders_suite_and_failures(spark, tmp_path):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    rows = [
        ("u1", ts("2026-03-11T00:00:00"), ts("2026-03-11T02:00:00"), 2, 15.0, 20.0, 2, 60.0, day("2026-03-10")),
        ("u2", ts("2026-03-11T00:00:00"), ts("2026-03-11T02:00:00"), -4, 15.0, 20.0, 0, 60.0, day("2026-03-10")),
        ("u3", ts("2026-03-11T07:30:00"), ts("2026-03-11T08:00:00"), 1, 9.0, 9.0, 1, None, day("2026-03-10")),
    ]
    df = spark.createDataFrame(rows, nullable(USER_TRANSACTION_FEATURES))
    outcome = validate_table(
        df,
        table="user_transaction_features",
        params=suite_params_for_test(),
        results_path=str(tmp_path / "quality"),
        batch_name="browser-test",
    )
    assert outcome.docs_url and outcome.docs_url.startswith("file://")

    dom, requested = open_offline(chromium, outcome.docs_url, tmp_path / "page")
    assert requested == [], f"the page asked the network for {requested}"
    page = ValidationPage()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())
    assert "Expectation Suite: user_transaction_features" in text
    assert "Status: Failed" in text
    one_of_three = "1 unexpected values found. ≈33.33% of 3 total rows."
    assert page.failed_expectations() == {
        ("transaction_count_7d", f"values must be greater than or equal to 0.0. {one_of_three}"),
        (
            "Table-Level Expectations",
            f"Values in transaction_count_7d must always be greater than or equal to those in unique_merchants_7d."
            f" {one_of_three}",
        ),
        ("event_timestamp", f"values must match this regular expression: {MIDNIGHT_REGEX}. {one_of_three}"),
    }

    page_file = Path(unquote(urlparse(outcome.docs_url).path))
    for asset in local_assets(page_file.read_text()):
        assert (page_file.parent / asset).resolve().is_file(), asset
    suite_link = re.search(r'href="([^"]*expectations/user_transaction_features.html)"', dom)
    assert suite_link and (page_file.parent / suite_link.group(1)).resolve().is_file()

    index_dom, requested = open_offline(chromium, outcome.docs_index_url, tmp_path / "index")
    assert requested == [], f"the index asked the network for {requested}"
    # bootstrap-table turns the index's data into rows only when its script loaded.
    rows = re.findall(r"<tr[^>]*data-index=[^>]*>(.*?)</tr>", index_dom, flags=re.S)
    assert any("batch_browser-test" in row and "ge-failed-icon" in row for row in rows), index_dom[-2000:]


def open_offline(chromium: str, url: str, work: Path) -> tuple[str, list[str]]:
    """The DOM after the page's scripts ran, and every http(s) URL the browser tried to fetch."""
    net_log = work / "netlog.json"
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={net_log}"]
        + ["--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    urls = set(re.findall(r'"url":"(https?://[^"]+)"', net_log.read_text()))
    return dom, sorted(u for u in urls if not urlparse(u).hostname.endswith(CHROMIUM_OWN_HOSTS))


def local_assets(html: str) -> list[str]:
    return [m for m in re.findall(r'(?:src|href)="([^"#:]+\.(?:js|css|png))"', html)]


def suite_params_for_test():
    return suite_params(load_config(env="local").quality, run_date=dt.date(2026, 3, 10))
