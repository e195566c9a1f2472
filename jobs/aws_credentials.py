"""The AWS credentials Feast's and our boto3 clients sign with.

Real AWS (and any non-loopback endpoint) uses the standard boto3 credential chain (instance profile
on EMR and Databricks); nothing here holds a secret. The embedded dynalite on loopback verifies no
signature but needs one, so calls to it are signed with placeholders. Our own clients take them as
arguments (`client_kwargs`); Feast builds its boto3 clients from the default chain, so for the
duration of a Feast call they are set in the environment and restored after
(`loopback_credentials`), and a Feast client process gets them in its environment
(`client_environment`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

EMBEDDED_CREDENTIALS = {"aws_access_key_id": "embedded-dynalite", "aws_secret_access_key": "embedded-dynalite"}
_VARIABLES = {"aws_access_key_id": "AWS_ACCESS_KEY_ID", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY"}
ENDPOINT_VARIABLE = "FRAUD_DYNAMODB_ENDPOINT"  # read by feature_defs/feature_store.yaml


def is_loopback(url: str | None) -> bool:
    return bool(url) and ("://127.0.0.1:" in url or "://localhost:" in url)  # type: ignore[operator]


def client_kwargs(url: str | None) -> dict[str, str]:
    """Credentials to pass to a boto3 client of `url`: placeholders on loopback, else none (the chain)."""
    return dict(EMBEDDED_CREDENTIALS) if is_loopback(url) else {}


def credential_variables(url: str | None) -> dict[str, str]:
    """The environment variables a Feast client of `url` needs: placeholders on loopback, else none."""
    return {_VARIABLES[key]: value for key, value in client_kwargs(url).items()}


def client_environment(url: str | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a Feast client process reading the online store at `url` (None: AWS)."""
    env = dict(os.environ if base is None else base)
    if url:
        env[ENDPOINT_VARIABLE] = url
    env.update(credential_variables(url))
    return env


@contextlib.contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set `variables` in this process's environment for the block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def loopback_credentials(url: str | None) -> Iterator[None]:
    """For in-process Feast calls to `url`: the placeholders in the environment on loopback, restored after."""
    with environment(credential_variables(url)):
        yield
