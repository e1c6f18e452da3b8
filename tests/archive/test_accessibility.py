"""Page quality a screen reader, a keyboard and a phone rely on: checked on the pages themselves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from archive.models import Asset
from tests.factories import attach_file, make_object

ROOT = Path(__file__).resolve().parents[2]
BACKGROUNDS = ["#fbf8f2", "#ffffff"]


def luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_text_colour_meets_wcag_aa_on_our_backgrounds():
    checked = 0
    for css in (ROOT / "static" / "archive").glob("*.css"):
        text = css.read_text()
        variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", text))
        for match in re.finditer(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6}|var\(--([\w-]+)\))", text):
            colour = match.group(1) if match.group(1).startswith("#") else variables.get(match.group(2))
            if colour is None or colour.lower() in ("#fff", "#ffffff"):
                continue  # white is only used on the accent colour (buttons), checked below
            for background in BACKGROUNDS:
                assert contrast(colour, background) >= 4.5, (css.name, colour, background)
                checked += 1
    assert checked > 10
    assert contrast("#ffffff", "#8a3b12") >= 4.5  # button text on the accent colour


class PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images_without_alt: list[str] = []
        self.h1 = 0
        self.html_lang = ""
        self.inputs: list[dict] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.forms_post_without_csrf = 0
        self._form_post = False
        self._form_has_csrf = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang", "")
        elif tag == "img" and "alt" not in a:
            self.images_without_alt.append(a.get("src", ""))
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("type") not in ("hidden", "submit", "button") and tag:
                self.inputs.append({**a, "_wrapped": self.label_depth > 0})
            if a.get("name") == "csrfmiddlewaretoken":
                self._form_has_csrf = True
        elif tag == "form":
            self._form_post = (a.get("method") or "get").lower() == "post"
            self._form_has_csrf = False

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1
        elif tag == "form" and self._form_post and not self._form_has_csrf:
            self.forms_post_without_csrf += 1

    def unlabelled(self) -> list[str]:
        return [
            i.get("name") or i.get("id") or "?"
            for i in self.inputs
            if not i["_wrapped"] and i.get("id") not in self.label_for and not i.get("aria-label")
        ]


@pytest.fixture
def pages(personas, tmp_path):
    obj = make_object(personas.collection, "Carved lintel", latitude=10.0, longitude=20.0)
    attach_file(obj, Asset.Role.ACCESS, b"jpg", tmp_path / "a", filename="lintel.jpg")
    attach_file(obj, Asset.Role.THUMBNAIL, b"jpg", tmp_path / "t", filename="lintel-t.jpg")
    return obj


@pytest.mark.parametrize("persona", ["visitor", "curator"])
def test_pages_have_a_language_one_heading_alt_texts_labels_and_csrf(pages, personas, persona):
    client = Client()
    urls = [
        "/",
        "/search/?q=lintel",
        "/map/",
        pages.get_absolute_url(),
        f"/c/{personas.community.slug}/",
        f"/collections/{personas.collection.slug}/",
        "/communities/",
        "/accounts/login/",
    ]
    if persona == "curator":
        client.force_login(personas.curator)
        urls += [
            "/curate/",
            f"/curate/o/{pages.identifier}/",
            f"/curate/o/{pages.identifier}/edit/",
            f"/curate/o/{pages.identifier}/review/",
            f"/curate/communities/{personas.community.slug}/",
            f"/curate/collections/{personas.collection.slug}/upload/",
            "/curate/csv/import/",
            "/curate/quarantine/",
        ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        audit = PageAudit()
        audit.feed(response.content.decode())
        assert audit.html_lang, url
        assert audit.h1 == 1, (url, audit.h1)
        assert not audit.images_without_alt, (url, audit.images_without_alt)
        assert not audit.unlabelled(), (url, audit.unlabelled())
        assert audit.forms_post_without_csrf == 0, url
