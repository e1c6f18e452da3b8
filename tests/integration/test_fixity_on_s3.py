"""Fixity on real S3 servers: a byte flipped inside one server's folder is found and healed."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from archive import actions
from preservation import pipeline
from preservation.fixity import audit
from preservation.stores import registry
from tests.factories import make_object
from tests.preservation import imagegen

pytestmark = pytest.mark.services


def test_a_flipped_byte_inside_one_s3_server_is_reported_and_repaired(
    transactional_db, settings, two_s3_servers, personas, tmp_path
):
    first, second = two_s3_servers
    settings.ARCHIVE_STORES = [first.store_config("s3-a"), second.store_config("s3-b")]
    registry.reset()
    obj = make_object(personas.collection, "Audited manuscript")
    path = imagegen.make_jpeg(tmp_path / "folio.jpg", size=(200, 150))
    staged = tmp_path / "staged.jpg"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    asset, _ = actions.receive_file(
        obj, staged, "folio.jpg", hashlib.sha256(data).hexdigest(), len(data), enqueue=False
    )
    asset = pipeline.run_in_process(asset)
    replica = asset.replicas.get(store__name="s3-b")
    on_disk = second.path_of(replica.key)
    damaged = bytearray(on_disk.read_bytes())
    damaged[100] ^= 0xFF
    on_disk.write_bytes(bytes(damaged))

    report = audit(repair=True)
    assert report.corrupt == [("s3-b", replica.key)]
    assert report.repaired == [("s3-b", replica.key)]
    assert second.path_of(replica.key).read_bytes() == first.path_of(replica.key).read_bytes() == data
    assert audit().healthy
