"""Identifiers are short, opaque, URL-safe and never reused; hostile names are recognised."""

from __future__ import annotations

import pytest

from archive.filenames import hostile_filename_reason, sanitize_filename
from archive.identifiers import CROCKFORD, new_identifier, normalize_identifier
from tests.factories import make_object


def test_identifiers_are_ten_crockford_characters():
    for _ in range(200):
        identifier = new_identifier()
        assert len(identifier) == 10 and set(identifier) <= set(CROCKFORD)


def test_identifiers_are_read_forgivingly():
    assert normalize_identifier("7k3m-9q2x-ab") == "7K3M9Q2XAB"
    assert normalize_identifier("oIl0000000") == "0110000000"
    assert normalize_identifier("../etc/passwd") is None
    assert normalize_identifier("TOOSHORT") is None


def test_a_taken_identifier_is_never_handed_out_again(personas, monkeypatch):
    first = make_object(personas.collection, "First")
    draws = iter([first.identifier, first.identifier, "ZZZZZZZZZZ"])
    monkeypatch.setattr("archive.models.heritage_object.new_identifier", lambda: next(draws))
    second = make_object(personas.collection, "Second")
    assert second.identifier == "ZZZZZZZZZZ"


def test_the_ocfl_id_and_citation_are_built_from_the_identifier(personas, settings):
    obj = make_object(personas.collection, "Citable")
    assert obj.ocfl_id == f"urn:heritage-archive:{obj.identifier}"
    assert obj.citation_url == f"{settings.SITE_URL}/o/{obj.identifier}/"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "a/../b.jpg",
        "..\\windows\\x.jpg",
        "/etc/passwd",
        "C:\\x.jpg",
        "bad\x00.jpg",
        "new\nline.jpg",
        "x" * 300 + ".jpg",
        "",
    ],
)
def test_hostile_names_are_recognised(name):
    assert hostile_filename_reason(name)


@pytest.mark.parametrize("name", ["photo.jpg", "تصوير.jpg", "Église Saint-Pierre (nef).tif", "scan 01.png"])
def test_ordinary_names_pass(name):
    assert hostile_filename_reason(name) is None


def test_sanitized_names_are_safe_in_paths_and_urls():
    assert sanitize_filename("../../etc/passwd") == "passwd"
    assert sanitize_filename("a b<script>.jpg") == "a b_script_.jpg"
    assert sanitize_filename("تصوير.jpg") == "تصوير.jpg"
    assert len(sanitize_filename("x" * 300 + ".jpeg")) <= 150
    assert sanitize_filename("...") == "file"


def test_texts_in_any_language_with_direction(personas):
    from archive.models import ObjectText

    obj = make_object(personas.collection, "Minbar")
    arabic = ObjectText.objects.create(object=obj, language="ar", title="منبر", description="منبر خشبي منحوت")
    assert arabic.direction == "rtl"
    assert obj.text("ar").title == "منبر"
    assert obj.text("de").language == "en"  # fallback to English
    html = __import__("django.test", fromlist=["Client"]).Client().get(f"/o/{obj.identifier}/").content.decode()
    assert 'lang="ar" dir="rtl"' in html
