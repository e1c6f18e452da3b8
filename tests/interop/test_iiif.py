"""IIIF: the Image API 3.0 service on image access copies and the Presentation API 3.0 manifests and
collections, through the one access rule. Manifests and collections are checked with iiif-prezi3's
models (the IIIF consortium's own Python library), images are decoded with Pillow."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.test import Client
from iiif_prezi3 import Collection as PreziCollection
from iiif_prezi3 import Manifest as PreziManifest
from PIL import Image

from archive.interop.iiif import cache, image, views
from archive.models import AccessLevel, Asset, Collection, HeritageObject
from preservation.stores.base import StoreUnavailable
from tests.factories import attach_file, client_for, make_object, objects_in_every_state, preserve_file
from tests.preservation import imagegen

PERSONAS = ["visitor", "outsider", "member", "curator", "staff"]
# Who sees which object (DESIGN §6; the same table as tests/archive/test_access.py).
SEES = {
    "visitor": {"public", "embargo_over"},
    "outsider": {"public", "embargo_over"},
    "member": {"public", "embargo_over", "community"},
    "curator": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
    "staff": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
}
IIIF_JSON_LD = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
PREZI_JSON_LD = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'


def jpeg(size: tuple[int, int], colour=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def decoded(response) -> Image.Image:
    picture = Image.open(io.BytesIO(response.content))
    picture.load()
    return picture


def with_image(obj: HeritageObject, folder: Path, size=(64, 48)) -> dict[str, Asset]:
    """An original, a JPEG access copy and a thumbnail, as the pipeline leaves them (no decoding needed)."""
    original = attach_file(obj, Asset.Role.ORIGINAL, jpeg(size, (1, 2, 3)), folder, filename="original.jpg")
    access = attach_file(obj, Asset.Role.ACCESS, jpeg(size), folder, filename="access.jpg", derived_from=original)
    thumb = attach_file(obj, Asset.Role.THUMBNAIL, jpeg((32, 24)), folder, filename="thumb.jpg", derived_from=original)
    return {"original": original, "access": access, "thumbnail": thumb}


@pytest.fixture
def photo(personas, tmp_path) -> tuple[HeritageObject, Asset, Asset]:
    """A public object with a photograph through the real pipeline: its access copy and thumbnail."""
    obj = make_object(
        personas.collection,
        "Carved cedar lintel",
        object_type="Lintel",
        culture="Phoenician",
        place_name="Byblos",
        latitude=34.1234567,
        longitude=35.6512345,
        sensitive_location=True,
        keywords=["doorway", "cedar"],
        rights_statement="https://rightsstatements.org/vocab/InC-EDU/1.0/",
        licence="CC BY-NC 4.0",
        period_label="Iron Age",
        year_start=-900,
        year_end=-700,
    )
    source = imagegen.make_jpeg(tmp_path / "lintel.jpg", size=(600, 400))
    original = preserve_file(obj, source, tmp_path)
    assert original.status == Asset.State.READY, original.status_message
    access = obj.assets.get(role=Asset.Role.ACCESS)
    thumbnail = obj.assets.get(role=Asset.Role.THUMBNAIL)
    return obj, access, thumbnail


@pytest.fixture
def still(personas, tmp_path) -> Asset:
    """A public 600 x 400 JPEG access copy attached directly (no pipeline run: the parametrized tests
    stay fast; its size comes from the file's header, as for any asset without technical metadata)."""
    obj = make_object(personas.collection, "Terrace wall")
    data = imagegen.make_jpeg(tmp_path / "wall.jpg", size=(600, 400)).read_bytes()
    return attach_file(obj, Asset.Role.ACCESS, data, tmp_path / "wall", filename="wall.jpg")


def base(asset: Asset) -> str:
    return f"/iiif/image/{asset.id}"


# --- Image API: info.json ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_info_json_describes_the_access_copy_with_tiles_for_deep_zoom(photo, settings):
    obj, access, _ = photo
    response = Client().get(f"{base(access)}/info.json")
    assert response.status_code == 200
    assert response["Content-Type"] == IIIF_JSON_LD
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Link"] == '<http://iiif.io/api/image/3/level2.json>;rel="profile"'
    assert response["Cache-Control"].startswith("public")
    info = response.json()
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == f"{settings.SITE_URL}{base(access)}"
    assert (info["type"], info["protocol"], info["profile"]) == ("ImageService3", "http://iiif.io/api/image", "level2")
    assert (info["width"], info["height"]) == (600, 400) == (access.technical["width"], access.technical["height"])
    assert (info["maxWidth"], info["maxHeight"], info["maxArea"]) == (600, 400, 600 * 400)
    assert info["tiles"] == [{"width": 512, "height": 512, "scaleFactors": [1, 2]}]
    assert info["sizes"][-1] == {"width": 600, "height": 400}
    assert info["rights"] == "http://rightsstatements.org/vocab/InC-EDU/1.0/"
    assert "bitonal" in info["extraQualities"] and "webp" in info["extraFormats"]

    # Plain JSON for a client that asks for it; the base URI redirects to info.json (303).
    plain = Client().get(f"{base(access)}/info.json", HTTP_ACCEPT="application/json")
    assert plain["Content-Type"] == "application/json" and plain.json() == info
    redirect = Client().get(base(access))
    assert redirect.status_code == 303 and redirect["Location"] == f"{base(access)}/info.json"


def test_scale_factors_reach_a_single_tile():
    assert image.scale_factors(512, 300) == [1]
    assert image.scale_factors(513, 10) == [1, 2]
    assert image.scale_factors(2048, 1365) == [1, 2, 4]


# --- Image API: image requests -----------------------------------------------------------------------------

SIZES = [
    # region, size, rotation, expected (width, height) of the returned image, from a 600 x 400 source
    ("full", "max", "0", (600, 400)),
    ("full", "150,", "0", (150, 100)),
    ("full", ",100", "0", (150, 100)),
    ("full", "120,30", "0", (120, 30)),
    ("full", "!100,100", "0", (100, 67)),
    ("full", "pct:25", "0", (150, 100)),
    ("square", "max", "0", (400, 400)),
    ("square", "64,", "0", (64, 64)),
    ("10,20,300,100", "max", "0", (300, 100)),
    ("10,20,300,100", "150,50", "0", (150, 50)),
    ("500,300,512,512", "max", "0", (100, 100)),  # a right-hand edge tile: clipped to the image
    ("512,0,512,512", "44,200", "0", (44, 200)),  # what OpenSeadragon asks for the edge tile at scale 2
    ("pct:50,50,50,50", "max", "0", (300, 200)),
    ("10,20,300,100", "^max", "0", (600, 200)),
    ("10,20,30,10", "^60,", "0", (60, 20)),
    ("full", "150,", "90", (100, 150)),
    ("full", "150,", "!270", (100, 150)),
    ("full", "150,", "180", (150, 100)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("region", "size", "rotation", "expected"), SIZES)
def test_an_image_request_returns_exactly_the_requested_size(still, region, size, rotation, expected):
    access = still
    response = Client().get(f"{base(access)}/{region}/{size}/{rotation}/default.jpg")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/jpeg"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "level2.json" in response["Link"] and 'rel="canonical"' in response["Link"]
    picture = decoded(response)
    assert (picture.format, picture.size) == ("JPEG", expected)


@pytest.mark.django_db
def test_region_mirroring_rotation_quality_and_format_do_what_they_say(personas, tmp_path):
    obj = make_object(personas.collection, "Two-colour tile")
    left_red = Image.new("RGB", (40, 20), (220, 0, 0))
    left_red.paste((0, 0, 230), (20, 0, 40, 20))  # left half red, right half blue
    buffer = io.BytesIO()
    left_red.save(buffer, "PNG")
    access = attach_file(obj, Asset.Role.ACCESS, buffer.getvalue(), tmp_path, filename="tile.png", mime="image/png")
    client = Client()

    def get(path: str) -> Image.Image:
        response = client.get(f"{base(access)}/{path}")
        assert response.status_code == 200, response.content
        return decoded(response)

    right = get("20,0,20,20/max/0/default.png")
    assert right.getpixel((10, 10)) == (0, 0, 230)
    mirrored = get("full/max/!0/default.png")
    assert mirrored.getpixel((5, 10)) == (0, 0, 230) and mirrored.getpixel((35, 10)) == (220, 0, 0)
    turned = get("full/max/90/default.png")  # clockwise: the left (red) half is now on top
    assert turned.size == (20, 40) and turned.getpixel((10, 5)) == (220, 0, 0)
    gray = get("full/max/0/gray.png")
    assert gray.mode == "L"
    bitonal = get("full/max/0/bitonal.png")
    assert {value for _count, value in bitonal.convert("L").getcolors()} <= {0, 255}
    webp = client.get(f"{base(access)}/full/max/0/color.webp")
    assert webp["Content-Type"] == "image/webp" and decoded(webp).format == "WEBP"


BAD = [
    # region, size, rotation, quality.format, words the message must contain
    ("everything", "max", "0", "default.jpg", "Invalid region"),
    ("0,0,0,10", "max", "0", "default.jpg", "greater than zero"),
    ("600,0,10,10", "max", "0", "default.jpg", "outside the image"),
    ("full", "big", "0", "default.jpg", "Invalid size"),
    ("full", "601,", "0", "default.jpg", "upscaling needs the ^ prefix"),
    ("full", "pct:101", "0", "default.jpg", "needs the ^ prefix"),
    ("10,10,20,20", "^601,", "0", "default.jpg", "maxWidth 600"),
    ("full", "^99999999,99999999", "0", "default.jpg", "above the largest size"),
    ("full", "9999999999999999,", "0", "default.jpg", "Invalid size"),
    ("full", "0,", "0", "default.jpg", "no pixels"),
    ("full", "max", "45", "default.jpg", "not supported"),
    ("full", "max", "361", "default.jpg", "between 0 and 360"),
    ("full", "max", "0", "sepia.jpg", "Invalid quality"),
    ("full", "max", "0", "default.tif", "Format 'tif' is not supported"),
    ("full", "max", "0", "default.JPG", "Invalid quality and format"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("region", "size", "rotation", "quality_format", "message"), BAD)
def test_bad_or_oversized_requests_are_400_with_a_clear_message(still, region, size, rotation, quality_format, message):
    access = still
    response = Client().get(f"{base(access)}/{region}/{size}/{rotation}/{quality_format}")
    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == "*"
    assert message in response.content.decode()
    assert not cache.root().exists() or not any(p.is_file() for p in cache.root().rglob("*"))


def test_hostile_sizes_never_exceed_the_source_area():
    limits = image.Limits.of(600, 400)
    with pytest.raises(image.IIIFError):
        image.parse_size("^100000,100000", (600, 400), limits)
    with pytest.raises(image.IIIFError):
        image.parse_size("^601,400", (600, 400), limits)
    assert image.parse_size("^max", (10, 10), limits) == (400, 400)
    assert image.parse("full", "^max", "0", "default.jpg", (600, 400)).size == (600, 400)
    with pytest.raises(image.IIIFError, match="longer than"):
        image.parse("pct:" + "1" * 80, "max", "0", "default.jpg", (600, 400))


def test_canonical_forms_name_one_picture_once():
    source = (600, 400)
    assert image.parse("full", "max", "0", "default.jpg", source).canonical == "full/max/0/default.jpg"
    assert image.parse("0,0,600,400", "pct:100", "360", "default.jpg", source).canonical == "full/max/0/default.jpg"
    assert image.parse("square", "!50,50", "!90", "gray.png", source).canonical == "100,0,400,400/50,50/!90/gray.png"
    assert (
        image.parse("10,20,30,10", "^60,", "0", "default.jpg", source).canonical == "10,20,30,10/^60,20/0/default.jpg"
    )


def test_reduced_jpeg_decoding_cuts_the_same_region(tmp_path):
    """Tiles of a zoomed-out level decode the JPEG at 1/2..1/8 scale: the region must still be the right one.
    The source is a gradient (red grows left to right, green top to bottom)."""
    source = imagegen.make_jpeg(tmp_path / "gradient.jpg", size=(1200, 800))
    request = image.parse("600,400,600,400", "75,50", "0", "default.png", (1200, 800))
    with open(source, "rb") as handle:
        tile = Image.open(io.BytesIO(image.render(handle, request, max_pixels=10**8)))
    red, green, _ = tile.getpixel((0, 0))
    assert abs(red - 128) <= 8 and abs(green - 128) <= 8
    red, green, _ = tile.getpixel((74, 49))
    assert red >= 245 and green >= 245


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_every_source_mode_renders_to_every_format(mode):
    picture = Image.new("RGB", (30, 20), (10, 150, 90)).convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, "TIFF" if mode == "CMYK" else "PNG")
    for quality in image.QUALITIES:
        for fmt in image.FORMATS:
            request = image.parse("full", "15,", "90", f"{quality}.{fmt}", (30, 20))
            buffer.seek(0)
            out = Image.open(io.BytesIO(image.render(buffer, request, max_pixels=10**6)))
            assert out.size == (10, 15) and out.format == image.FORMATS[fmt][0], (mode, quality, fmt)


def test_a_source_that_is_not_the_recorded_size_is_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20)).save(buffer, "PNG")
    with pytest.raises(image.IIIFError) as refused:
        image.render(buffer, image.parse("full", "max", "0", "default.jpg", (60, 40)), max_pixels=10**6)
    assert refused.value.status == 500


@pytest.mark.django_db
def test_a_cache_hit_serves_the_same_bytes_without_reading_the_source(photo, monkeypatch):
    _, access, _ = photo
    url = f"{base(access)}/0,0,512,400/256,200/0/default.jpg"
    first = Client().get(url)
    assert first.status_code == 200
    parsed = image.parse("0,0,512,400", "256,200", "0", "default.jpg", (600, 400))
    cached = cache.path_for(access.sha256, parsed.canonical)
    assert cached.is_file() and cached.read_bytes() == first.content
    assert cached.is_relative_to(cache.root()) and not list(cached.parent.glob(".tmp-*"))

    def no_source(asset):
        raise AssertionError("the source was read for a cached picture")

    monkeypatch.setattr(views, "asset_source", no_source)
    second = Client().get(url.replace("0/default.jpg", "0/default.jpg"))
    assert second.status_code == 200 and second.content == first.content


@pytest.mark.django_db
def test_an_unreachable_copy_is_503_not_an_error(photo, still, monkeypatch):
    from archive.interop.iiif import sources

    def unreachable(asset, exclude_store=None):
        raise StoreUnavailable("every store is down")

    monkeypatch.setattr(views, "asset_source", unreachable)
    monkeypatch.setattr(sources, "asset_source", unreachable)
    _, access, _ = photo  # its size is known: the render fails
    for url in (
        f"{base(access)}/full/100,/0/default.jpg",
        f"{base(still)}/info.json",
        f"/iiif/{still.object.identifier}/manifest",
    ):
        response = Client().get(url)
        assert response.status_code == 503, url
        assert "every store is down" in response.content.decode()


@pytest.mark.django_db
def test_an_unreadable_access_copy_is_a_500_and_is_left_out_of_the_manifest(still, tmp_path):
    obj = still.object
    broken = attach_file(obj, Asset.Role.ACCESS, b"not a jpeg", tmp_path / "broken", filename="broken.jpg")
    response = Client().get(f"{base(broken)}/info.json")
    assert response.status_code == 500 and "could not be read" in response.content.decode()
    assert Client().get(f"{base(broken)}/full/max/0/default.jpg").status_code == 500
    manifest = Client().get(f"/iiif/{obj.identifier}/manifest").json()
    assert [canvas["id"].rsplit("/", 1)[-1] for canvas in manifest["items"]] == [str(still.id)]


@pytest.mark.django_db
def test_cors_preflight_is_answered(still):
    access = still
    response = Client().options(f"{base(access)}/info.json", HTTP_ORIGIN="https://viewer.example")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert Client().post(f"{base(access)}/info.json").status_code == 405


# --- access ----------------------------------------------------------------------------------------------


@pytest.fixture
def world(personas, tmp_path):
    objects = objects_in_every_state(personas.collection)
    files = {name: with_image(obj, tmp_path / name) for name, obj in objects.items()}
    return personas, objects, files


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_images_and_manifests_follow_the_access_rule(world, persona):
    personas, objects, files = world
    client = client_for(personas.users()[persona])
    for name, obj in objects.items():
        access = files[name]["access"]
        expected = 200 if name in SEES[persona] else 404
        urls = [
            f"{base(access)}/info.json",
            f"{base(access)}/full/max/0/default.jpg",
            f"{base(files[name]['thumbnail'])}/full/max/0/default.jpg",
            f"/iiif/{obj.identifier}/manifest",
        ]
        for url in urls:
            response = client.get(url)
            assert response.status_code == expected, (persona, name, url)
            if expected == 200:
                public = name in SEES["visitor"]
                assert response["Cache-Control"].startswith("public" if public else "private"), (name, url)
            else:
                assert obj.text().title not in response.content.decode(errors="replace")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["visitor", "curator", "staff"])
def test_originals_and_masters_are_never_served_as_iiif_images(world, persona):
    personas, _, files = world
    client = client_for(personas.users()[persona])
    original = files["public"]["original"]
    assert client.get(f"{base(original)}/info.json").status_code == 404
    assert client.get(f"{base(original)}/full/max/0/default.jpg").status_code == 404
    assert client.get(f"/iiif/image/{files['public']['access'].id}x/info.json").status_code == 404


@pytest.mark.django_db
def test_a_share_link_opens_the_images_of_its_object_only_privately(world, client):
    from archive.sharing import create_link

    personas, objects, files = world
    restricted = objects["restricted"]
    _, token = create_link(restricted, researcher_name="Dr Ada", days=3, user=personas.curator)
    url = f"{base(files['restricted']['access'])}/full/max/0/default.jpg"
    assert client.get(url).status_code == 404
    client.get(f"/s/{token}/")
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert client.get(f"{base(files['community']['access'])}/info.json").status_code == 404


# --- Presentation API ------------------------------------------------------------------------------------


def validated_manifest(document: dict) -> PreziManifest:
    """Validate with iiif-prezi3 and check nothing was dropped as unknown on the way."""
    model = PreziManifest(**document)
    assert set(json.loads(model.jsonld())) == set(document)
    return model


@pytest.mark.django_db
def test_the_manifest_of_a_public_object_is_valid_iiif_presentation_3(photo, settings):
    obj, access, thumbnail = photo
    response = Client().get(f"/iiif/{obj.identifier}/manifest")
    assert response.status_code == 200
    assert response["Content-Type"] == PREZI_JSON_LD
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public")
    manifest = response.json()
    validated_manifest(manifest)
    site = settings.SITE_URL

    assert manifest["id"] == f"{site}/iiif/{obj.identifier}/manifest"
    assert manifest["label"] == {"en": ["Carved cedar lintel"], "fr": ["Carved cedar lintel (fr)"]}
    assert manifest["summary"] == {"en": ["Description of Carved cedar lintel"]}
    assert manifest["rights"] == "http://rightsstatements.org/vocab/InC-EDU/1.0/"
    statement = manifest["requiredStatement"]
    assert set(statement["label"]) == set(statement["value"]) == {"en", "fr"}
    assert "Riverside Community" in statement["value"]["en"][0] and "CC BY-NC 4.0" in statement["value"]["en"][0]
    assert manifest["homepage"][0]["id"] == obj.citation_url
    assert manifest["seeAlso"] == [
        {
            "id": f"{site}/api/objects/{obj.identifier}/",
            "type": "Dataset",
            "label": {"en": ["Catalogue record"], "fr": manifest["seeAlso"][0]["label"]["fr"]},
            "format": "application/json",
            "profile": f"{site}/api/schema/",
        }
    ]
    assert manifest["provider"][0]["type"] == "Agent" and manifest["provider"][0]["id"] == f"{site}/"
    assert manifest["partOf"][0]["id"] == f"{site}/iiif/collection/riverside-photos"

    # Metadata: labels in English and French, the sensitive place generalized (for everybody).
    metadata = {pair["label"]["en"][0]: pair for pair in manifest["metadata"]}
    assert metadata["Object type"]["label"]["fr"] == ["Type d'objet"]
    assert metadata["Culture"]["value"] == {"none": ["Phoenician"]}
    assert metadata["Period"]["value"] == {"none": ["Iron Age (-900 – -700)"]}
    assert metadata["Keywords"]["value"] == {"none": ["doorway", "cedar"]}
    assert metadata["Community"]["value"] == {"none": ["Riverside Community"]}
    assert metadata["Collection"]["value"] == {"none": ["Riverside photos"]}
    place = metadata["Place"]["value"]
    assert place["en"][0].startswith("Byblos (≈ 34.1, 35.7)") and "withheld" in place["en"][0]
    assert "34.12" not in json.dumps(manifest)

    # One canvas for the photo: its size, a painting annotation with the image service.
    [canvas] = manifest["items"]
    assert (canvas["width"], canvas["height"]) == (600, 400)
    [annotation] = canvas["items"][0]["items"]
    assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
    body = annotation["body"]
    assert body["type"] == "Image" and body["format"] == "image/jpeg"
    assert body["service"] == [{"id": f"{site}{base(access)}", "type": "ImageService3", "profile": "level2"}]
    assert Client().get(body["id"].removeprefix(site)).status_code == 200
    assert canvas["thumbnail"][0]["service"][0]["id"] == f"{site}{base(thumbnail)}"
    assert manifest["thumbnail"] == canvas["thumbnail"]


@pytest.mark.django_db
def test_a_curator_gets_the_same_generalized_place(photo, personas):
    obj, _, _ = photo
    manifest = client_for(personas.curator).get(f"/iiif/{obj.identifier}/manifest")
    assert manifest.status_code == 200
    assert "34.12" not in manifest.content.decode()


@pytest.mark.django_db
def test_a_3d_access_copy_becomes_a_model_canvas(personas, tmp_path, settings):
    obj = make_object(
        personas.collection, "Scanned jar", rights_statement="https://creativecommons.org/licenses/by/4.0/"
    )
    scan = attach_file(obj, Asset.Role.ORIGINAL, b"ply", tmp_path, filename="jar.ply", mime="application/ply")
    glb = attach_file(
        obj, Asset.Role.ACCESS, b"glTF fake", tmp_path, filename="jar.glb", mime="model/gltf-binary", derived_from=scan
    )
    poster = attach_file(obj, Asset.Role.THUMBNAIL, jpeg((80, 60)), tmp_path, filename="jar.jpg", derived_from=scan)
    manifest = Client().get(f"/iiif/{obj.identifier}/manifest").json()
    validated_manifest(manifest)
    assert manifest["rights"] == "http://creativecommons.org/licenses/by/4.0/"
    [canvas] = manifest["items"]
    body = canvas["items"][0]["items"][0]["body"]
    assert body["type"] == "Model" and body["format"] == "model/gltf-binary"
    assert body["id"] == settings.SITE_URL + glb.get_download_url()
    assert (canvas["width"], canvas["height"]) == (80, 60)
    assert canvas["thumbnail"][0]["service"][0]["id"].endswith(base(poster))
    assert Client().get(body["id"].removeprefix(settings.SITE_URL)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_collections_list_only_the_manifests_the_caller_may_see(world, persona):
    personas, objects, _ = world
    other = Collection.objects.create(community=personas.other_community, slug="hilltop-songs", title="Songs")
    make_object(other, "Hilltop song", access=AccessLevel.COMMUNITY)
    client = client_for(personas.users()[persona])

    response = client.get("/iiif/collection/riverside-photos")
    assert response.status_code == 200 and response["Content-Type"] == PREZI_JSON_LD
    document = response.json()
    PreziCollection(**document)
    listed = {item["id"].rsplit("/", 2)[-2] for item in document["items"]}
    assert listed == {objects[name].identifier for name in SEES[persona]}
    assert all(item["type"] == "Manifest" for item in document["items"])
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("public" if persona == "visitor" else "private")

    top = client.get("/iiif/collection").json()
    PreziCollection(**top)
    slugs = {item["id"].rsplit("/", 1)[-1] for item in top["items"]}
    # The hilltop song is community material of the outsider's own community.
    assert slugs == {"riverside-photos"} | ({"hilltop-songs"} if persona in ("outsider", "staff") else set())
    assert client.get("/iiif/collection/no-such-collection").status_code == 404


def test_the_cache_is_pruned_oldest_first_down_to_its_limit(settings, tmp_path):
    import os

    from archive.interop.iiif import cache

    digest = "a" * 64
    for n, name in enumerate(["full/max/0/default.jpg", "full/100,/0/default.jpg", "full/50,/0/default.jpg"]):
        path = cache.write(digest, name, b"x" * 100)
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    leftover = cache.path_for(digest, "full/max/0/default.jpg").parent / ".tmp-killed.part"
    leftover.write_bytes(b"half")
    os.utime(leftover, (1, 1))
    removed, freed = cache.prune(max_bytes=150)
    assert (removed, freed) == (3, 204)
    assert cache.read(digest, "full/50,/0/default.jpg") == b"x" * 100
    assert cache.read(digest, "full/max/0/default.jpg") is None
