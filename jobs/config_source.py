"""Reading a `--config` file from where a platform keeps it, before Spark starts.

| location | read as |
| --- | --- |
| `conf/x.yaml`, `/abs/x.yaml`, `file:///abs/x.yaml` | a local file |
| `/Volumes/catalog/schema/volume/x.yaml` | a local file (Databricks mounts Unity Catalog volumes there) |
| `dbfs:/path/x.yaml` | `/dbfs/path/x.yaml` (Databricks' FUSE mount of DBFS on every node) |
| `s3://bucket/key.yaml` (also `s3a://`, `s3n://`) | boto3 `GetObject`, credentials from the standard chain |

The configuration chooses the Spark session, so it cannot be read through Spark's own filesystem.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from jobs.errors import ConfigError, InfrastructureError

S3_SCHEMES = {"s3", "s3a", "s3n"}
DBFS_MOUNT = Path("/dbfs")


def local_path(location: str) -> Path | None:
    """The local file a location names, or None for an object-store URI."""
    parts = urlsplit(location)
    if parts.scheme in S3_SCHEMES:
        return None
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "dbfs":
        return DBFS_MOUNT / unquote(parts.path).lstrip("/")
    if parts.scheme and len(parts.scheme) > 1:
        raise ConfigError(f"--config {location}: unsupported scheme {parts.scheme}:// (file, s3, dbfs, or a path)")
    return Path(location)


def read_config_text(location: str) -> str:
    path = local_path(location)
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"configuration file {location} does not exist")
        return path.read_text()
    return _read_s3(location)


def _read_s3(location: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    parts = urlsplit(location)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise ConfigError(f"--config {location}: an S3 URI needs a bucket and a key")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in {"NoSuchKey", "NoSuchBucket", "404"}:
            raise ConfigError(f"configuration file {location} does not exist") from err
        if code in {"AccessDenied", "403"}:
            raise ConfigError(f"configuration file {location}: access denied ({err})") from err
        raise InfrastructureError(f"reading configuration {location}: {err}") from err
    except BotoCoreError as err:
        raise InfrastructureError(f"reading configuration {location}: {err}") from err
    return str(body.decode("utf-8"))
