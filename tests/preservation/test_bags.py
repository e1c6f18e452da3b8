"""BagIt 1.0 export and import: bags that bagit validates, a faithful round trip, hostile bags refused with
nothing created, and the curators' zip download."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import bagit
import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from lxml import etree

from archive.models import Asset, HeritageObject
from preservation.models import PreservationEvent, Replica
from preservation.packaging import bags, mets
from preservation.stores.registry import get_store
from tests.factories import client_for, make_object, preserve_file
from tests.preservation import imagegen
from tests.preservation.test_mets import NS, validate_mets


@pytest.fixture
def preserved(personas, tmp_path):
    obj = make_object(
        personas.collection, "Granary door", culture="Dogon", keywords=["door", "granary"], place_name="Bandiagara"
    )
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "door front.jpg", size=(64, 48)), tmp_path)
    return obj


def originals(obj: HeritageObject) -> set[str]:
    return set(obj.assets.filter(role="original").values_list("sha256", flat=True))


def payload(bag_dir: Path) -> set[str]:
    return {p.relative_to(bag_dir).as_posix() for p in (bag_dir / "data").rglob("*") if p.is_file()}


def foreign_bag(folder: Path, files: dict[str, bytes], **info: str) -> Path:
    """A bag as another institution's tool makes it (bagit-python, BagIt 0.97, its own tags)."""
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    bagit.make_bag(str(folder), info, checksums=["sha256"])
    return folder


def counts() -> tuple[int, int]:
    return HeritageObject.objects.count(), Asset.objects.count()


# ---------------------------------------------------------------------------------------------- export


def test_an_exported_bag_validates_with_both_manifests_and_the_metadata_files(preserved, tmp_path):
    bag_dir = bags.export_bag(preserved, tmp_path / "out")
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert (bag_dir / "bagit.txt").read_text().startswith("BagIt-Version: 1.0\n")
    for name in ("manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"):
        assert (bag_dir / name).is_file(), name
    info = bag.info
    assert info["External-Identifier"] == preserved.ocfl_id and info["External-Description"] == "Granary door"
    assert info["Source-Organization"] == "Heritage Archive" and info["Bagging-Date"] and info["Payload-Oxum"]
    current = mets.current_assets(preserved, records=False)
    metadata = {f"data/metadata/{n}" for n in ("mets.xml", "premis.xml", "dc.xml", "object.json")}
    assert payload(bag_dir) == {f"data/{a.logical_path}" for a in current} | metadata
    for asset in current:
        assert bag.entries[f"data/{asset.logical_path}"]["sha256"] == asset.sha256
    # The METS inside points at the files inside the bag, with their checksums.
    document = (bag_dir / "data/metadata/mets.xml").read_bytes()
    validate_mets(document)
    for element in etree.fromstring(document).xpath("//mets:file", namespaces=NS):
        href = element.find("mets:FLocat", NS).get(f"{{{mets.XLINK_NS}}}href")
        path = href.replace("%20", " ")
        assert bag.entries[path]["sha256"] == element.get("CHECKSUM"), path
    assert json.loads((bag_dir / "data/metadata/object.json").read_bytes())["identifier"] == preserved.identifier
    event = PreservationEvent.objects.filter(object=preserved, event_type="dissemination", detail__contains="BagIt")
    assert event.get().detail.startswith(f"Exported as BagIt 1.0 bag {bag_dir.name}")


def test_every_version_is_exported_in_an_ocfl_like_layout(preserved, tmp_path):
    preserve_file(preserved, imagegen.make_jpeg(tmp_path / "door back.jpg", size=(48, 64)), tmp_path)
    assert preserved.versions.count() == 2
    bag_dir = bags.export_bag(preserved, tmp_path / "out", all_versions=True)
    assert bag_dir.name == f"{preserved.identifier}-all-versions"
    assert bagit.Bag(str(bag_dir)).validate()
    paths = payload(bag_dir)
    assert {"data/v1/content/metadata/object.json", "data/v2/content/metadata/premis.xml"} <= paths
    for asset in preserved.assets.filter(version__isnull=False):
        assert f"data/v{asset.version.number}/content/{asset.id}/{asset.filename}" in paths or asset.role == "metadata"
    inventory = json.loads((bag_dir / "data/metadata/inventory.json").read_bytes())
    assert inventory["head"] == "v2" and inventory["id"] == preserved.ocfl_id


def test_a_damaged_store_copy_aborts_the_export_naming_the_file_and_store(preserved, tmp_path):
    original = preserved.assets.get(role="original")
    assert not original.local_path  # staging released: the bytes come from the stores
    for replica in Replica.objects.filter(asset=original):
        root = Path(get_store(replica.store.name).root)
        path = root / replica.key
        data = bytearray(path.read_bytes())
        data[100] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(bags.BagExportError) as refused:
        bags.export_bag(preserved, tmp_path / "out")
    message = str(refused.value)
    assert original.logical_path in message and "store local-" in message and "audit" in message
    assert list((tmp_path / "out").iterdir()) == []  # nothing half-written is left
    assert PreservationEvent.objects.filter(asset=original, event_type="fixity check", outcome="failure").exists()


def test_an_object_without_a_version_cannot_be_exported(personas, tmp_path):
    obj = make_object(personas.collection, "Not yet packaged")
    with pytest.raises(bags.BagExportError, match="no OCFL version yet"):
        bags.export_bag(obj, tmp_path / "out")


# ---------------------------------------------------------------------------------------------- import


def test_export_then_import_makes_a_new_object_with_the_same_texts_and_originals(
    preserved, personas, tmp_path, django_capture_on_commit_callbacks
):
    bag_dir = bags.export_bag(preserved, tmp_path / "out")
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the normal task chain runs
        copy = bags.import_bag(bag_dir, personas.collection, personas.curator)
    assert copy.identifier != preserved.identifier and copy.status == "draft"
    assert sorted(copy.texts.values_list("language", "title", "is_original")) == sorted(
        preserved.texts.values_list("language", "title", "is_original")
    )
    assert (copy.culture, copy.keywords, copy.place_name) == ("Dogon", ["door", "granary"], "Bandiagara")
    assert originals(copy) == originals(preserved)
    imported = copy.assets.get(role="original")
    assert imported.original_name == "door front.jpg" and imported.status == Asset.State.READY
    assert imported.replicas.filter(state="ok").count() == 2
    assert set(copy.assets.exclude(role="metadata").values_list("role", flat=True)) == {
        "original",
        "master",
        "access",
        "thumbnail",
    }
    event = PreservationEvent.objects.get(object=copy, event_type="ingestion", asset__isnull=True)
    assert bag_dir.name in event.detail and preserved.ocfl_id in event.detail and "sha256, sha512" in event.detail
    assert preserved.ocfl_id in copy.provenance


def test_the_commands_round_trip_a_zipped_bag(preserved, personas, tmp_path):
    out = io.StringIO()
    call_command("export_bag", preserved.identifier, str(tmp_path / "out"), "--zip", stdout=out, verbosity=0)
    (archive,) = (tmp_path / "out").iterdir()
    assert archive.name == f"{preserved.identifier}-v1.zip" and zipfile.is_zipfile(archive)
    call_command(
        "import_bag",
        str(archive),
        "--collection",
        personas.collection.slug,
        "--user",
        "curator",
        stdout=out,
        verbosity=0,
    )
    copy = HeritageObject.objects.exclude(pk=preserved.pk).get()
    assert copy.title == preserved.title and originals(copy) == originals(preserved)
    assert copy.assets.get(role="original").status == Asset.State.READY  # processed in the command's process
    assert f"as {copy.identifier}" in out.getvalue()
    with pytest.raises(CommandError, match="does not curate"):
        call_command("import_bag", str(archive), "--collection", personas.collection.slug, "--user", "member")
    for name in ("export_bag", "import_bag"):
        text = load_command_class("preservation", name).create_parser("manage.py", name).format_help()
        assert "BagIt" in text


def test_a_bag_from_elsewhere_is_described_from_bag_info(personas, tmp_path):
    jpeg = imagegen.make_jpeg(tmp_path / "mask.jpg", size=(40, 30)).read_bytes()
    folder = foreign_bag(
        tmp_path / "transfer",
        {"photos/mask.jpg": jpeg},
        **{"External-Description": "Dance mask, front", "Source-Organization": "Musée du Fleuve"},
    )
    obj = bags.import_bag(folder, personas.collection, personas.curator, in_process=True)
    assert obj.title == "Dance mask, front" and "Musée du Fleuve" in obj.provenance
    asset = obj.assets.get(role="original")
    assert asset.original_name == "photos/mask.jpg" and asset.status == Asset.State.READY


def test_a_bag_with_one_altered_byte_is_refused_and_nothing_is_created(preserved, personas, tmp_path, settings):
    bag_dir = bags.export_bag(preserved, tmp_path / "out")
    original = preserved.assets.get(role="original")
    victim = bag_dir / "data" / original.logical_path
    data = bytearray(victim.read_bytes())
    data[200] ^= 0x01
    victim.write_bytes(bytes(data))
    before = counts()
    with pytest.raises(bags.BagRefused) as refused:
        bags.import_bag(bag_dir, personas.collection, personas.curator, in_process=True)
    message = str(refused.value)
    assert f"data/{original.logical_path}" in message and "sha256" in message and "nothing was imported" in message
    assert counts() == before
    assert not list((Path(settings.STAGING_ROOT) / "bags").iterdir())  # the work folder is gone too


@pytest.mark.parametrize("entry", ["../outside.jpg", "data/../../outside.jpg", "/etc/passwd", "bag-info.txt"])
def test_a_manifest_naming_a_path_outside_the_payload_is_refused(personas, tmp_path, entry):
    folder = foreign_bag(tmp_path / "evil", {"a.jpg": b"\xff\xd8 not much"})
    with open(folder / "manifest-sha256.txt", "a", encoding="utf-8") as manifest:
        manifest.write(f"{'0' * 64}  {entry}\n")
    before = counts()
    with pytest.raises(bags.BagRefused, match="manifest-sha256.txt line 2") as refused:
        bags.import_bag(folder, personas.collection)
    assert entry in str(refused.value)
    assert counts() == before


def test_a_symbolic_link_in_a_bag_is_refused(personas, tmp_path):
    folder = foreign_bag(tmp_path / "linked", {"a.jpg": b"\xff\xd8 not much"})
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the archive")
    (folder / "data" / "b.jpg").symlink_to(secret)
    before = counts()
    with pytest.raises(bags.BagRefused, match="data/b.jpg is a symbolic link"):
        bags.import_bag(folder, personas.collection)
    assert counts() == before


def test_a_file_above_the_upload_limit_is_refused(personas, tmp_path, settings):
    folder = foreign_bag(tmp_path / "big", {"big.jpg": b"x" * 2048})
    settings.ARCHIVE_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(bags.BagRefused, match="data/big.jpg is 2048 bytes, above the 1024-byte limit"):
        bags.import_bag(folder, personas.collection)
    settings.ARCHIVE_BAG_MAX_FILES = 0
    settings.ARCHIVE_MAX_UPLOAD_BYTES = 10**6
    with pytest.raises(bags.BagRefused, match="more than 0 payload files"):
        bags.import_bag(folder, personas.collection)


def hostile_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        for member, data in members:
            archive.writestr(member, data)
    return path


def symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("bag/../../escaped.txt", "climbs out of its folder"),
        ("/tmp/escaped.txt", "is an absolute path"),
        (symlink_member("bag/data/link.jpg"), "bag/data/link.jpg is a symbolic link"),
        ("elsewhere/data/a.jpg", "lies outside the bag folder"),
    ],
)
def test_a_hostile_zip_is_refused_before_anything_is_extracted(personas, tmp_path, settings, member, reason):
    archive = hostile_zip(tmp_path / "evil.zip", [("bag/data/a.jpg", b"\xff\xd8"), (member, b"/etc/passwd")])
    before = counts()
    with pytest.raises(bags.BagRefused, match=reason):
        bags.import_bag(archive, personas.collection)
    assert counts() == before
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()
    assert not list((Path(settings.STAGING_ROOT) / "bags").iterdir())


def test_a_zipped_bag_with_an_altered_byte_is_refused_too(preserved, personas, tmp_path):
    bag_dir = bags.export_bag(preserved, tmp_path / "out")
    victim = bag_dir / "data/metadata/dc.xml"
    victim.write_bytes(victim.read_bytes().replace(b"Granary", b"Granery"))
    bags.zip_bag(bag_dir, tmp_path / "bag.zip")
    with pytest.raises(bags.BagRefused, match="data/metadata/dc.xml: its sha256 is"):
        bags.import_bag(tmp_path / "bag.zip", personas.collection)
    assert HeritageObject.objects.count() == 1


# ---------------------------------------------------------------------------------------------- download


def test_curators_download_the_bag_as_a_zip_and_nobody_else_can(preserved, personas):
    url = f"/curate/o/{preserved.identifier}/bag.zip"
    response = client_for(personas.curator).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f"{preserved.identifier}-v1.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert f"{preserved.identifier}-v1/manifest-sha512.txt" in names
    assert f"{preserved.identifier}-v1/data/metadata/mets.xml" in names
    every = client_for(personas.curator).get(url + "?versions=all")
    assert f"{preserved.identifier}-all-versions.zip" in every["Content-Disposition"]
    every.close()
    for name in ("visitor", "outsider", "member"):
        assert client_for(personas.users()[name]).get(url).status_code == 404, name


def test_a_bag_that_cannot_be_made_sends_the_curator_back_with_the_reason(personas):
    draft = make_object(personas.collection, "Nothing packaged yet", published=False)
    response = client_for(personas.curator).get(f"/curate/o/{draft.identifier}/bag.zip", follow=True)
    assert response.redirect_chain[-1][0] == f"/curate/o/{draft.identifier}/"
    assert "no OCFL version yet" in response.content.decode()
