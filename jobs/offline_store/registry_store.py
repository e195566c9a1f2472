"""A local-file Feast registry store that creates its folder and never leaves a half-written registry.

Feast's FileRegistryStore creates only the last folder of the path and rewrites the file in
place, so a crash mid-write leaves a truncated registry. This one writes a temporary file next to
the registry, fsyncs it and renames it over the old one (atomic on POSIX). Selected in
feature_store.yaml with `registry_store_type`; s3:// registries use Feast's S3 store, whose PUT is
already atomic.
"""

from __future__ import annotations

import os
import tempfile
import uuid

from feast.infra.registry.file import FileRegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.utils import _utc_now


class AtomicFileRegistryStore(FileRegistryStore):
    def _write_registry(self, registry_proto: RegistryProto) -> None:
        registry_proto.version_id = str(uuid.uuid4())
        registry_proto.last_updated.FromDatetime(_utc_now())
        folder = self._filepath.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self._filepath.name}.", suffix=".tmp")
        try:
            os.fchmod(handle, 0o644)  # mkstemp makes it owner-only; the registry is shared like Feast's
            with os.fdopen(handle, "wb") as out:
                out.write(registry_proto.SerializeToString())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._filepath)
        except BaseException:
            os.unlink(temporary)
            raise
