"""Window lengths are part of what a feature means: `transaction_count_7d` counts 7 days, and its Feast
view's TTL is 7 days. A setting that changed the window under unchanged names and TTLs would publish
5-day counts as `_7d` and let the online store serve rows the window no longer covers, so a window
setting must agree with both (FEATURES.md); changing one means renaming the features and the TTL too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.errors import ConfigError
from jobs.tables import feature_table

# Setting of the `features` section -> the feature table (and Feast view of the same name) whose window it is.
WINDOW_SETTINGS = {
    "user_window_days": "user_transaction_features",
    "merchant_window_days": "merchant_risk_features",
}
_DAYS_SUFFIX = re.compile(r"_(\d+)d$")


class WindowMismatchError(ConfigError):
    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


def named_windows(table: str) -> dict[str, int]:
    """Feature name -> the days its name says (`transaction_count_7d` -> 7), for the named ones."""
    schema = feature_table(table).schema
    found = (_DAYS_SUFFIX.search(name) for name in (schema.names if schema is not None else []))
    return {m.string: int(m[1]) for m in found if m}


def view_ttl_days(repo_path: str | Path) -> dict[str, float]:
    """TTL in days of each `FeatureView(name=..., ttl=timedelta(...))` of the Feast repo's top-level files.

    Read from the source, not by importing it: `import feast` alone takes 3-7 s on the 2-core dev
    machine (measured: `time python -c "import feast.repo_operations"`, 6.6 s), which every command
    would pay at start for one number per view, and Feast's `parse_repo` changes the process's
    working directory and sys.path. tests/test_feature_windows.py checks this reading against Feast's
    own `parse_repo` of the same repo.
    """
    ttls: dict[str, float] = {}
    for path in sorted(Path(repo_path).glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(call, ast.Call) and _called_name(call.func) == "FeatureView":
                keywords = {k.arg: k.value for k in call.keywords if k.arg}
                name, ttl = keywords.get("name"), keywords.get("ttl")
                if isinstance(name, ast.Constant) and isinstance(name.value, str) and ttl is not None:
                    ttls[name.value] = _timedelta_days(ttl, where=f"{path}: FeatureView {name.value!r} ttl")
    return ttls


def check_windows(features: Mapping[str, Any], repo_path: str | Path) -> None:
    """Raise a ConfigError naming the setting, its value and what it contradicts, unless every window
    setting of the `features` section equals the days in its table's feature names and its Feast view's TTL."""
    ttls = view_ttl_days(repo_path)
    for setting, table in WINDOW_SETTINGS.items():
        key, days = f"features.{setting}", features[setting]
        names = named_windows(table)
        wrong_names = sorted(n for n, d in names.items() if d != days)
        ttl = ttls.get(table)
        if ttl is None:
            raise ConfigError(f"setting {key}: the Feast repo {repo_path} defines no FeatureView {table} with a ttl")
        if not wrong_names and ttl == days:
            continue
        contradicts = [f"{n} ({names[n]} days)" for n in wrong_names]
        if ttl != days:
            contradicts.append(f"Feast view {table} ttl ({ttl:g} days)")
        raise WindowMismatchError(
            f"setting {key}={days} contradicts {', '.join(contradicts)}: the window would change what these "
            "features mean under the same names; change the feature names (jobs/schemas.py, feature_defs/) and "
            "the view's ttl together with the setting",
            {"setting": key, "value": days, "contradicts": contradicts},
        )


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


_TIMEDELTA_DAYS = {"weeks": 7.0, "days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400}


def _timedelta_days(node: ast.expr, *, where: str) -> float:
    """Days of a literal `timedelta(days=7)` (also `weeks=`, `hours=`, ... and `timedelta(7)`)."""
    if isinstance(node, ast.Call) and _called_name(node.func) == "timedelta":
        parts = [("days", a) for a in node.args[:1]] + [(k.arg, k.value) for k in node.keywords if k.arg]
        literals = [(u, v.value) for u, v in parts if isinstance(v, ast.Constant) and isinstance(v.value, int | float)]
        if len(literals) == len(parts) and all(u in _TIMEDELTA_DAYS for u, _ in literals):
            return sum(_TIMEDELTA_DAYS[u] * float(v) for u, v in literals)
    raise ConfigError(f"{where} is not a literal timedelta(...), so the window settings cannot be checked against it")
