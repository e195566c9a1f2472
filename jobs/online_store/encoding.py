"""DynamoDB items byte-identical to the ones Feast 0.67's DynamoDB online store writes and reads.

Feast stores one item per entity in table `{project}.{view}`:
`entity_id` (S) = hex of murmur3 x64-128 over the version-3 entity key serialization,
`event_ts` (S) = `str()` of the tz-aware UTC event time, and `values` (M) = feature name -> serialized
`feast.types.Value` protobuf (an empty message for a null). This module encodes them without importing
Feast, so Python workers start fast; tests/test_online_encoding.py pins every byte against Feast's
own functions and against the items Feast's writer puts into DynamoDB. Kept hand-written because it
is measurably faster: 3.6-4.2x Feast's `_convert_arrow_to_proto` + `_to_client_write_item` on the same
20,000 rows (benchmarks/bench_encoding.py, benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import mmh3

# feast.types.ValueType enum numbers, as written into the entity key serialization.
VALUE_TYPE_NUMBERS = {"BYTES": 1, "STRING": 2, "INT32": 3, "INT64": 4, "DOUBLE": 5, "FLOAT": 6, "BOOL": 7}
JOIN_KEY_TYPES = frozenset({"STRING", "BYTES", "INT32", "INT64"})
FEATURE_TYPES = frozenset(VALUE_TYPE_NUMBERS)

_STRING_TYPE = struct.pack("<I", VALUE_TYPE_NUMBERS["STRING"])
_MASK_64 = (1 << 64) - 1

# Protobuf tags of the `feast.types.Value` oneof members: (field number << 3) | wire type.
_TAG_BYTES = b"\x0a"  # bytes_val = 1, length-delimited
_TAG_STRING = b"\x12"  # string_val = 2, length-delimited
_TAG_INT32 = b"\x18"  # int32_val = 3, varint
_TAG_INT64 = b"\x20"  # int64_val = 4, varint
_TAG_DOUBLE = b"\x29"  # double_val = 5, fixed64
_TAG_FLOAT = b"\x35"  # float_val = 6, fixed32
_TAG_BOOL = b"\x38"  # bool_val = 7, varint


def varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative numbers as their 64-bit two's complement (10 bytes)."""
    value &= _MASK_64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _is_null(value: Any) -> bool:
    # Feast turns nulls and float NaN (pd.isnull) into an empty Value.
    return value is None or (isinstance(value, float) and math.isnan(value))


def value_bytes(value_type: str, value: Any) -> bytes:
    """`feast.types.Value(<type>_val=value).SerializeToString()`, or b"" for a null."""
    if _is_null(value):
        return b""
    if value_type == "FLOAT":
        return _TAG_FLOAT + struct.pack("<f", value)
    if value_type == "INT64":
        return _TAG_INT64 + varint(int(value))
    if value_type == "DOUBLE":
        return _TAG_DOUBLE + struct.pack("<d", value)
    if value_type == "INT32":
        return _TAG_INT32 + varint(int(value))
    if value_type == "STRING":
        encoded = value.encode("utf-8")
        return _TAG_STRING + varint(len(encoded)) + encoded
    if value_type == "BYTES":
        return _TAG_BYTES + varint(len(value)) + bytes(value)
    if value_type == "BOOL":
        return _TAG_BOOL + (b"\x01" if value else b"\x00")
    raise ValueError(f"feature value type {value_type} is not supported by the online encoder")


def _key_value_bytes(value_type: str, value: Any) -> bytes:
    if value_type == "STRING":
        return value.encode("utf-8")
    if value_type == "INT64":
        return struct.pack("<q", value)
    if value_type == "INT32":
        return struct.pack("<i", value)
    if value_type == "BYTES":
        return bytes(value)
    raise ValueError(f"join key value type {value_type} is not supported by the online encoder")


def serialize_entity_key(join_keys: Sequence[tuple[str, str, Any]]) -> bytes:
    """Feast's entity key serialization, version 3, for (join key, value type, value) triples.

    Keys are sorted by name, as Feast sorts the (join key, value) pairs.
    """
    ordered = sorted(join_keys, key=lambda k: k[0])
    out = [struct.pack("<I", len(ordered))]
    for name, _, _ in ordered:
        encoded = name.encode("utf-8")
        out += [_STRING_TYPE, struct.pack("<I", len(encoded)), encoded]
    for _, value_type, value in ordered:
        encoded = _key_value_bytes(value_type, value)
        out += [struct.pack("<I", VALUE_TYPE_NUMBERS[value_type]), struct.pack("<I", len(encoded)), encoded]
    return b"".join(out)


def entity_id(join_keys: Sequence[tuple[str, str, Any]]) -> str:
    """`feast.infra.online_stores.helpers.compute_entity_id`: murmur3 x64-128 hex of the key bytes."""
    return mmh3.hash_bytes(serialize_entity_key(join_keys)).hex()


def client_item(entity_id_: str, event_ts: str, values: dict[str, bytes]) -> dict[str, Any]:
    """The item in DynamoDB's low-level wire shape (what botocore sends in a PutRequest)."""
    return {
        "entity_id": {"S": entity_id_},
        "event_ts": {"S": event_ts},
        "values": {"M": {name: {"B": data} for name, data in values.items()}},
    }
