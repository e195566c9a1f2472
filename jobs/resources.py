"""Where the configuration files and the Feast repo live, and what relative data paths are relative to.

- Run from a checkout (editable install, `PYTHONPATH=.`): the checkout's `conf/` and `feature_defs/`;
  relative data paths (`data/...`, `jars`) resolve against the checkout, whatever the working directory.
- Installed from the wheel (spark-submit's packed environment, a Databricks wheel task, `pip install`):
  the copies packaged under `jobs/_data/`; relative data paths resolve against the working directory,
  as for any command-line tool (`cd /srv/fraud && fraud-jobs features --env local` writes `./data`).

A relative `feast.repo_path` names a folder of the project itself (`feature_defs`), so it resolves
against the checkout or the packaged copy, never the working directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jobs.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def checkout_root() -> Path | None:
    """The source checkout this code runs from, or None when it runs from an installed wheel."""
    is_checkout = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "conf").is_dir()
    return _CHECKOUT if is_checkout else None


def project_files() -> Path:
    """The folder holding `conf/` and `feature_defs/`: the checkout, or the wheel's packaged data."""
    root = checkout_root()
    if root is not None:
        return root
    packaged = Path(str(resources.files("jobs").joinpath("_data")))
    if not (packaged / "conf").is_dir():
        raise ConfigError(
            f"no conf/ next to the code ({_CHECKOUT}) and no packaged copy in {packaged}: "
            "install the wheel built by `make package`"
        )
    return packaged


def conf_dir() -> Path:
    return project_files() / "conf"


def feature_repo() -> Path:
    return project_files() / "feature_defs"


def base_dir() -> Path:
    """What relative data paths in a configuration are relative to (see the module docstring)."""
    return checkout_root() or Path.cwd()
