from pathlib import Path

import pytest

from jobs.config_source import local_path, read_config_text
from jobs.errors import ConfigError


@pytest.mark.parametrize(
    ("location", "path"),
    [
        ("conf/local.yaml", Path("conf/local.yaml")),
        ("/etc/fraud/emr.yaml", Path("/etc/fraud/emr.yaml")),
        ("file:///etc/fraud/my%20emr.yaml", Path("/etc/fraud/my emr.yaml")),
        ("/Volumes/main/fraud/conf/databricks.yaml", Path("/Volumes/main/fraud/conf/databricks.yaml")),
        ("dbfs:/fraud/conf/databricks.yaml", Path("/dbfs/fraud/conf/databricks.yaml")),
        ("s3://bucket/conf/emr.yaml", None),
        ("s3a://bucket/conf/emr.yaml", None),
    ],
)
def test_where_each_location_is_read(location, path):
    assert local_path(location) == path


def test_an_unknown_scheme_is_named():
    with pytest.raises(ConfigError, match=r"unsupported scheme gs://"):
        read_config_text("gs://bucket/conf.yaml")


def test_an_s3_uri_needs_a_key():
    with pytest.raises(ConfigError, match="bucket and a key"):
        read_config_text("s3://bucket")
