"""DynamoDB clients and Feast's table layout (hash key `entity_id`, on-demand billing)."""

from __future__ import annotations

import logging
import time
from typing import Any

from jobs.aws_credentials import client_kwargs
from jobs.errors import InfrastructureError

log = logging.getLogger("jobs.online_store")

EMBEDDED = "embedded"
AWS = "aws"


def endpoint_url(configured: str, embedded_url: str | None) -> str | None:
    """`embedded` -> the running embedded server, `aws` -> None (boto3's regional endpoint), else the URL."""
    if configured == EMBEDDED:
        if embedded_url is None:
            raise InfrastructureError("online_store.endpoint is embedded but no embedded server is running")
        return embedded_url
    if configured == AWS:
        return None
    return configured


def dynamodb_client(
    url: str | None,
    *,
    region: str,
    max_pool_connections: int = 10,
    connect_timeout_s: float = 5,
    read_timeout_s: float = 30,
    parameter_validation: bool = True,
    total_max_attempts: int = 1,
) -> Any:
    """A botocore DynamoDB client; its standard-mode retries are off unless `total_max_attempts` > 1 (the
    executor writer's client retries; the driver's calls fail fast and say so).

    The writer turns `parameter_validation` off: its requests are well-formed by construction (golden
    tests), and botocore's per-item shape walk costs about a quarter of the client CPU per item.

    Real AWS (and any non-loopback endpoint) uses the standard boto3 credential chain; the loopback
    embedded server gets placeholder credentials, since it verifies none.
    """
    import boto3
    from botocore.config import Config as BotoConfig

    kwargs: dict[str, Any] = {"region_name": region, "endpoint_url": url, **client_kwargs(url)}
    config = BotoConfig(
        retries={"mode": "standard", "total_max_attempts": total_max_attempts},
        max_pool_connections=max_pool_connections,
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        parameter_validation=parameter_validation,
    )
    return boto3.session.Session().client("dynamodb", config=config, **kwargs)


def ensure_table(client: Any, table_name: str, *, ttl_attribute: str | None, timeout_s: float = 300) -> bool:
    """Create Feast's table for a view if missing (PAY_PER_REQUEST); wait until ACTIVE. True if created."""
    created = False
    try:
        status = client.describe_table(TableName=table_name)["Table"]["TableStatus"]
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(
                TableName=table_name,
                KeySchema=[{"AttributeName": "entity_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "entity_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            created = True
        except client.exceptions.ResourceInUseException:
            pass  # created concurrently by another run or by `feast apply`
        status = "CREATING"
    deadline = time.monotonic() + timeout_s
    while status != "ACTIVE":
        if time.monotonic() > deadline:
            raise InfrastructureError(f"DynamoDB table {table_name} not ACTIVE after {timeout_s:.0f}s ({status})")
        time.sleep(0.2)
        status = client.describe_table(TableName=table_name)["Table"]["TableStatus"]
    if ttl_attribute:
        _enable_ttl(client, table_name, ttl_attribute)
    return created


def _enable_ttl(client: Any, table_name: str, attribute: str) -> None:
    from botocore.exceptions import ClientError

    try:
        described = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "UnknownOperationException":
            raise
        log.warning("%s: no TTL API on this server (dynalite); %s is written but not enforced", table_name, attribute)
        return
    if described.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
        if described.get("AttributeName") != attribute:
            raise InfrastructureError(
                f"DynamoDB table {table_name} expires items by {described.get('AttributeName')!r}, "
                f"not by {attribute!r}: disable its TTL or turn online_store.ttl_attribute_enabled off"
            )
        return
    try:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    except ClientError as err:
        if err.response["Error"]["Code"] != "UnknownOperationException":
            raise
        log.warning("%s: no TTL API on this server (dynalite); %s is written but not enforced", table_name, attribute)
