"""The registry store creates missing folders, and a failed write leaves the previous registry whole."""

from __future__ import annotations

import stat

import pytest
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig

from jobs.offline_store.registry_store import AtomicFileRegistryStore


def store_at(path):
    return AtomicFileRegistryStore(RegistryConfig(path=str(path)), repo_path=path.parent)


def test_writes_into_missing_folders_readable_by_others(tmp_path):
    path = tmp_path / "a" / "b" / "registry.db"
    proto = RegistryProto()
    proto.version_id = "ignored"
    store_at(path).update_registry_proto(proto)
    assert store_at(path).get_registry_proto().version_id != ""
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_the_old_registry(tmp_path, monkeypatch):
    path = tmp_path / "registry.db"
    store = store_at(path)
    store.update_registry_proto(RegistryProto())
    before = path.read_bytes()

    def fail(self):
        raise OSError("disk full")

    monkeypatch.setattr(RegistryProto, "SerializeToString", fail)
    with pytest.raises(OSError, match="disk full"):
        store.update_registry_proto(RegistryProto())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["registry.db"]
