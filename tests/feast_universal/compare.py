"""Case by case, Feast's suite on the project's store against Feast's stock Spark store (JUnit files of
run_suite.sh). Exits 1 when a case the stock store passes does not pass on the project's store.

    python tests/feast_universal/compare.py build/feast-suite/results/fraud-json.xml \
        build/feast-suite/results/spark-json.xml
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter

# Feast's ids hold the environment's repr (the creator's name) before the test's own parameters.
ENVIRONMENT = re.compile(r"\[ParameterSet\(values=\(LOCAL:\w+:sqlite:python_fs:False,\), marks=\[\], id=None\)-?")


def outcomes(junit_path: str) -> dict[str, str]:
    cases = {}
    for case in ET.parse(junit_path).getroot().iter("testcase"):
        name = ENVIRONMENT.sub("[", case.attrib["name"]).replace("[]", "")
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
        # A test that fails and then errors in teardown appears twice; the worse outcome counts.
        if cases.get(name) in (None, "passed"):
            cases[name] = outcome
    return cases


def main(fraud_junit: str, stock_junit: str) -> int:
    fraud, stock = outcomes(fraud_junit), outcomes(stock_junit)
    print(f"{'case':<72} {'stock Spark':<12} project")
    for name in sorted(stock.keys() | fraud.keys()):
        print(f"{name:<72} {stock.get(name, '-'):<12} {fraud.get(name, '-')}")
    print(f"stock Spark: {dict(Counter(stock.values()))}; project: {dict(Counter(fraud.values()))}")
    regressions = [n for n, o in stock.items() if o == "passed" and fraud.get(n) != "passed"]
    for name in regressions:
        print(f"passes on stock Spark, not on the project's store: {name}")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
