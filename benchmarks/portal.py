"""Portal benchmark: a generated catalogue of 100,000 objects on PostgreSQL, served by gunicorn as in
production, under concurrent load on loopback, next to a static file served by the same server (the ceiling).

    .venv/bin/python benchmarks/portal.py [--objects 100000] [--concurrency 16] [--seconds 15] [--warmup 2]
                                          [--workers 2] [--seed 2026] [--json] [--keep] [--database-url URL]

1. Catalogue: a fresh database ``heritage_bench_portal_<pid>`` on the PostgreSQL server of ``--database-url``
   (its database name is ignored), ``migrate``, then N objects written with ``bulk_create`` 10,000 at a time,
   with everything a real catalogue has around them: texts in en/fr (some ar), cultures, places with coordinates,
   periods, threats, keywords, licences, Local Contexts labels; about 80% public and published, the rest
   community, restricted, draft, in review, withdrawn or under embargo; 70% with a photo (original, master,
   access copy, thumbnail), 5% with a 3D model, each with its first OCFL version and a verified replica on two
   stores. ``bulk_create`` sends no signal, so ``search_text`` is filled in the same pass, exactly as
   ``HeritageObject.build_search_text()`` makes it (checked on a sample afterwards); then ``VACUUM ANALYZE``.
2. Server: ``gunicorn config.wsgi:application`` with ``--workers W`` sync workers and ``--timeout 120`` (the
   production command of the Dockerfile), on a free 127.0.0.1 port, DEBUG off, static files collected into the
   temporary folder and served by WhiteNoise as configured.
3. Load: ``wrk`` is not installed here, so the load generator is this process, with no extra dependency:
   asyncio and raw HTTP/1.1 over ``asyncio.open_connection``, closed loop, C connections for S seconds after a
   warm-up, one latency per request from connect (the sync worker closes every connection) to the last byte.
   Scenarios: the static file (the ceiling), the home page, search pages (queries of measured selectivity, one
   with a facet filter), search without a query, object pages of random public objects, the map's GeoJSON, and
   ``sitemap.xml`` once (and every sitemap it lists when it is an index). The CPU time of the generator, of
   gunicorn, of the kernel's interrupts and of the rest of the machine (PostgreSQL) is measured over every
   scenario: the generator shares the machine's cores with the server.

The table and ``--json`` carry the same figures. Nothing here is a test: no timing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import gzip
import html
import itertools
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import BUSY_WARNING, cpu_busy, lap, log, rounded, unwind_on_signals  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 10_000
SEED = 2026
HOST = "127.0.0.1"
STATIC_PATH = "/static/archive/style.css"
REQUEST_TIMEOUT = 120.0  # gunicorn --timeout of the production command
SLOW_P95 = 1.0  # seconds: a scenario above this is flagged (and worth an EXPLAIN ANALYZE)
SLOW_PROBE = 2.0  # seconds: a page this slow alone is loaded one request per worker (more would only queue)
OBJECT_SAMPLE = 1000  # random public objects the object-page scenario rotates over
STORES = (("store-a", "site-a"), ("store-b", "site-b"))
MB = 1_000_000


# --- vocabulary of the generated catalogue ----------------------------------------------------------

# slug, name, region, original languages (weights), collections
COMMUNITIES = [
    ("sahel-manuscripts", "Sahel Manuscript Keepers", "sahel", {"fr": 6, "ar": 3, "en": 1}, 5),
    ("levant-heritage", "Levant Heritage Trust", "levant", {"ar": 5, "en": 3, "fr": 2}, 4),
    ("tigris-communities", "Tigris Valley Communities", "tigris", {"ar": 6, "en": 4}, 4),
    ("andes-weavers", "Andean Weavers' Collective", "andes", {"en": 7, "fr": 3}, 4),
    ("pacific-voyaging", "Pacific Voyaging Society", "pacific", {"en": 9, "fr": 1}, 3),
    ("mekong-crafts", "Mekong Crafts Archive", "mekong", {"fr": 5, "en": 5}, 4),
]
COMMUNITY_WEIGHTS = [24, 20, 16, 16, 10, 14]
COLLECTION_THEMES = [
    ("Family papers", "Papiers de famille"),
    ("Everyday objects", "Objets du quotidien"),
    ("Sacred and ceremonial", "Sacré et cérémoniel"),
    ("Field photographs", "Photographies de terrain"),
    ("Rescued in emergency", "Sauvés en urgence"),
]
# name (en), name (fr), name (ar), latitude, longitude
PLACES = {
    "sahel": [
        ("Timbuktu", "Tombouctou", "تمبكتو", 16.77, -3.01),
        ("Djenné", "Djenné", "جني", 13.91, -4.55),
        ("Gao", "Gao", "غاو", 16.27, -0.04),
        ("Agadez", "Agadez", "أغاديس", 16.97, 7.99),
        ("Mopti", "Mopti", "موبتي", 14.49, -4.19),
        ("Oualata", "Oualata", "ولاتة", 17.30, -7.02),
    ],
    "levant": [
        ("Aleppo", "Alep", "حلب", 36.20, 37.16),
        ("Palmyra", "Palmyre", "تدمر", 34.55, 38.27),
        ("Byblos", "Byblos", "جبيل", 34.12, 35.65),
        ("Petra", "Pétra", "البتراء", 30.33, 35.44),
        ("Damascus", "Damas", "دمشق", 33.51, 36.29),
        ("Tyre", "Tyr", "صور", 33.27, 35.20),
        ("Jerash", "Jerash", "جرش", 32.28, 35.89),
    ],
    "tigris": [
        ("Mosul", "Mossoul", "الموصل", 36.34, 43.13),
        ("Nimrud", "Nimroud", "نمرود", 36.10, 43.33),
        ("Hatra", "Hatra", "الحضر", 35.59, 42.72),
        ("Samarra", "Samarra", "سامراء", 34.20, 43.87),
        ("Erbil", "Erbil", "أربيل", 36.19, 44.01),
        ("Sinjar", "Sinjar", "سنجار", 36.32, 41.87),
    ],
    "andes": [
        ("Cusco", "Cuzco", "كوسكو", -13.53, -71.97),
        ("Chavín de Huántar", "Chavín de Huántar", "شافين", -9.59, -77.18),
        ("Tiwanaku", "Tiwanaku", "تيواناكو", -16.55, -68.67),
        ("Potosí", "Potosí", "بوتوسي", -19.58, -65.75),
        ("Ollantaytambo", "Ollantaytambo", "أويانتايتامبو", -13.26, -72.26),
    ],
    "pacific": [
        ("Apia", "Apia", "آبيا", -13.83, -171.76),
        ("Nuku'alofa", "Nukuʻalofa", "نوكوألوفا", -21.14, -175.20),
        ("Suva", "Suva", "سوفا", -18.14, 178.44),
        ("Port Vila", "Port-Vila", "بورت فيلا", -17.73, 168.32),
        ("Majuro", "Majuro", "ماجورو", 7.09, 171.38),
    ],
    "mekong": [
        ("Luang Prabang", "Luang Prabang", "لوانغ برابانغ", 19.89, 102.13),
        ("Hoi An", "Hội An", "هوي آن", 15.88, 108.33),
        ("Angkor", "Angkor", "أنغكور", 13.41, 103.87),
        ("Champasak", "Champassak", "تشامباساك", 14.89, 105.87),
        ("Vientiane", "Vientiane", "فيينتيان", 17.97, 102.63),
    ],
}
CULTURES = {
    "sahel": ["Songhai", "Tuareg", "Fulani", "Bambara", "Dogon", "Moorish"],
    "levant": ["Phoenician", "Nabataean", "Aramaean", "Umayyad", "Ottoman", "Armenian"],
    "tigris": ["Assyrian", "Yazidi", "Mandaean", "Abbasid", "Kurdish", "Chaldean"],
    "andes": ["Inca", "Quechua", "Aymara", "Moche", "Chavín", "Wari"],
    "pacific": ["Samoan", "Tongan", "Fijian", "Ni-Vanuatu", "Marshallese"],
    "mekong": ["Lao", "Khmer", "Cham", "Hmong", "Tai Lue"],
}
# value (en, stored in object_type), fr, ar; weights below
TYPES = [
    ("manuscript", "manuscrit", "مخطوطة"),
    ("photograph", "photographie", "صورة"),
    ("textile", "textile", "نسيج"),
    ("pottery", "céramique", "فخار"),
    ("sculpture", "sculpture", "منحوتة"),
    ("jewellery", "bijou", "حلي"),
    ("tool", "outil", "أداة"),
    ("mask", "masque", "قناع"),
    ("coin", "monnaie", "عملة"),
    ("musical instrument", "instrument de musique", "آلة موسيقية"),
    ("basket", "vannerie", "سلة"),
    ("inscription", "inscription", "نقش"),
    ("map", "carte", "خريطة"),
    ("building", "bâtiment", "مبنى"),
    ("audio recording", "enregistrement sonore", "تسجيل صوتي"),
]
TYPE_WEIGHTS = [22, 18, 12, 10, 7, 6, 5, 4, 4, 3, 3, 2, 2, 1.5, 0.5]
MATERIALS = [
    ("clay", "argile", "طين"),
    ("wood", "bois", "خشب"),
    ("bronze", "bronze", "برونز"),
    ("silver", "argent", "فضة"),
    ("cotton", "coton", "قطن"),
    ("wool", "laine", "صوف"),
    ("paper", "papier", "ورق"),
    ("parchment", "parchemin", "رق"),
    ("stone", "pierre", "حجر"),
    ("glass", "verre", "زجاج"),
    ("leather", "cuir", "جلد"),
    ("gold", "or", "ذهب"),
    ("shell", "coquillage", "صدف"),
    ("palm leaf", "feuille de palmier", "سعف"),
]
ADJECTIVES = [
    ("Decorated", "décoré"),
    ("Painted", "peint"),
    ("Carved", "sculpté"),
    ("Woven", "tissé"),
    ("Inscribed", "inscrit"),
    ("Fragmentary", "fragmentaire"),
    ("Ceremonial", "cérémoniel"),
    ("Small", "petit"),
    ("Large", "grand"),
    ("Old", "ancien"),
    ("Illuminated", "enluminé"),
    ("Repaired", "réparé"),
]
PERIODS = [
    ("Neolithic", -6000, -3000),
    ("Bronze Age", -3000, -1200),
    ("Iron Age", -1200, -500),
    ("Classical antiquity", -500, 500),
    ("Medieval", 500, 1500),
    ("Early modern", 1500, 1800),
    ("19th century", 1800, 1899),
    ("20th century", 1900, 1999),
    ("Contemporary", 2000, 2025),
]
PERIOD_WEIGHTS = [1, 2, 2, 5, 12, 14, 22, 30, 12]
USES = [
    ("in weddings", "lors des mariages"),
    ("in harvest festivals", "lors des fêtes de la moisson"),
    ("in daily cooking", "dans la cuisine de tous les jours"),
    ("for trade along the caravan routes", "pour le commerce sur les routes caravanières"),
    ("in funerals", "lors des funérailles"),
    ("for storing grain", "pour conserver le grain"),
    ("in healing rituals", "dans les rituels de guérison"),
    ("to teach children", "pour instruire les enfants"),
    ("at the installation of chiefs", "lors de l'intronisation des chefs"),
    ("for fishing", "pour la pêche"),
    ("as a dowry gift", "comme présent de dot"),
    ("in seasonal dances", "dans les danses saisonnières"),
]
KEEPERS = [
    ("the village elders", "les anciens du village"),
    ("a local family", "une famille du lieu"),
    ("the mosque library", "la bibliothèque de la mosquée"),
    ("a travelling merchant", "un marchand itinérant"),
    ("the chief's household", "la maison du chef"),
    ("a women's cooperative", "une coopérative de femmes"),
    ("the parish church", "l'église paroissiale"),
    ("a school teacher", "un instituteur"),
]
CONDITIONS = [
    ("traces of old repairs", "des traces de réparations anciennes"),
    ("fading pigments", "des pigments pâlis"),
    ("insect damage", "des dégâts d'insectes"),
    ("a fine patina", "une belle patine"),
    ("cracks along the edge", "des fissures sur le bord"),
    ("water stains", "des taches d'eau"),
    ("worn corners", "des coins usés"),
    ("no visible damage", "aucun dommage visible"),
]
THREAT_SENTENCES = {
    "conflict": ("The place where it was kept was damaged during the fighting.", "Le lieu a souffert des combats."),
    "looting": ("Similar pieces were looted and sold abroad.", "Des pièces semblables ont été pillées."),
    "climate": ("Rising water and heat threaten the site.", "La montée des eaux menace le site."),
    "disaster": ("An earthquake damaged the storeroom.", "Un séisme a endommagé la réserve."),
    "neglect": ("The building that housed it is falling into ruin.", "Le bâtiment tombe en ruine."),
    "development": ("A new road is planned across the site.", "Une route doit traverser le site."),
}
KEYWORDS = (  # noqa: SIM905 - words are easier to read and edit as text
    "ritual trade weaving restoration pilgrimage agriculture music dance funeral marriage fishing "
    "navigation calligraphy religion kinship market metalwork storytelling healing astronomy water "
    "harvest architecture writing children women migration war festival mosque church temple caravan "
    "river desert mountain island coast village city nomads craft painting carving costume tattoo cuisine "
    "medicine education law poetry song language genealogy cartography excavation flood earthquake "
    "drought fire conservation repatriation salt gold cattle camels boats stars prayer family school"
).split()
THREATS = ["none", "conflict", "looting", "climate", "disaster", "neglect", "development"]
THREAT_WEIGHTS = [55, 12, 10, 10, 5, 5, 3]
LICENCES = ["CC BY 4.0", "CC BY-SA 4.0", "CC BY-NC 4.0", "CC BY-NC-ND 4.0", "CC0 1.0", ""]
LICENCE_WEIGHTS = [30, 15, 25, 10, 10, 10]
SYLLABLES = (  # noqa: SIM905 - words are easier to read and edit as text
    "ka lo mi ta ne so ri ba du fe ga hu ji ko la ma nu pa ru sa te wa ya zo ke bi tu mo"
).split()
# (status, access level, embargoed, weight): what the access rule has to sort out; 80% public and published
ACCESS_MIX = [
    ("published", "public", False, 80),
    ("published", "community", False, 6),
    ("published", "restricted", False, 4),
    ("draft", "public", False, 4),
    ("review", "public", False, 2),
    ("published", "public", True, 2),
    ("withdrawn", "public", False, 1),
    ("draft", "community", False, 1),
]


class Lexicon:
    """Made-up proper names (makers, villages) drawn with Zipf frequencies: the catalogue's long tail."""

    def __init__(self, rng: random.Random, size: int = 20_000) -> None:
        words: set[str] = set()
        while len(words) < size:
            words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize())
        self.words = sorted(words)
        rng.shuffle(self.words)
        self.cum = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(size)))

    def pick(self, rng: random.Random) -> str:
        return self.words[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


# --- the catalogue ----------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server, name)


def drop_database(server: str, name: str) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_settings(workdir: Path) -> str:
    """A settings module in the temporary folder: the project's settings, static files collected there (the
    project's STATIC_ROOT is a folder of the work tree, and production collects them at image build time)."""
    (workdir / "bench_portal_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "from pathlib import Path\n\n"
        f"STATIC_ROOT = Path({str(workdir / 'staticfiles')!r})\n"
    )
    return "bench_portal_settings"


def server_env(workdir: Path, database_url: str) -> dict[str, str]:
    media = workdir / "media"
    stores = [
        {
            "name": name,
            "backend": "preservation.stores.local.LocalStore",
            "options": {"root": str(workdir / "stores" / name), "create": True},
            "jurisdiction": jurisdiction,
            "access_levels": ["public", "community", "restricted"],
        }
        for name, jurisdiction in STORES
    ]
    return {
        "DJANGO_SETTINGS_MODULE": write_settings(workdir),
        "DJANGO_DEBUG": "0",  # as in production: DEBUG keeps every SQL query in memory and serves no static file
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # production refuses the development key
        "DJANGO_HTTPS": "0",  # plain HTTP on loopback
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",  # nothing is enqueued by the pages measured here
        "ARCHIVE_MEDIA_ROOT": str(media),
        "ARCHIVE_STAGING_ROOT": str(media / "staging"),
        "ARCHIVE_QUARANTINE_ROOT": str(media / "quarantine"),
        "ARCHIVE_STORES": json.dumps(stores),
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
    }


def setup_django(env: dict[str, str]) -> None:
    for name in env:  # config.settings reads NAME_FILE before NAME: the caller's files must not win
        os.environ.pop(f"{name}_FILE", None)
    os.environ.update(env)
    sys.path.insert(0, env["PYTHONPATH"].split(os.pathsep)[0])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


@contextlib.contextmanager
def own_timestamps(*models):
    """Let bulk_create keep the generated ``created``/``updated`` (auto_now fields would stamp them all now)."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


class CatalogueMaker:
    """Builds the unsaved rows of one batch of objects (and their texts, files, versions and replicas)."""

    def __init__(self, rng: random.Random, collections: list, stores: list, now: dt.datetime) -> None:
        from archive.models import LocalContextsLabel

        self.rng = rng
        self.lexicon = Lexicon(rng)
        self.collections = collections  # [(collection, region, languages dict, community name)]
        self.collection_weights = []  # a community's share split evenly between its collections
        for (slug, *_rest), share in zip(COMMUNITIES, COMMUNITY_WEIGHTS, strict=True):
            mine = [entry for entry in collections if entry[0].community.slug == slug]
            self.collection_weights += [share / len(mine)] * len(mine)
        self.stores = stores
        self.now = now
        self.labels = list(LocalContextsLabel.values)
        self.identifiers: set[str] = set()
        self.files = 0

    def identifier(self) -> str:
        from archive.identifiers import new_identifier

        while True:
            value = new_identifier()
            if value not in self.identifiers:
                self.identifiers.add(value)
                return value

    def texts(self, region, kind, material, adjective, place, village, maker, community, threat) -> dict[str, tuple]:
        """Title and description in en, fr and ar: every language an object could have."""
        rng = self.rng
        use, keeper, condition = rng.choice(USES), rng.choice(KEEPERS), rng.choice(CONDITIONS)
        recorded, year = rng.randint(1995, 2025), rng.randint(1900, 2024)
        other = rng.choice(PLACES[region])
        en = [
            f"This {kind[0]} was made by the {maker} family of {village}, near {place[0]}.",
            f"It was used {use[0]} and kept by {keeper[0]} until {year}.",
            f"The {material[0]} shows {condition[0]}.",
            f"Recorded in {recorded} by the documentation team of {community}.",
            f"Similar pieces are known from {other[0]} and {self.lexicon.pick(rng)}.",
        ]
        fr = [
            f"Ce {kind[1]} a été réalisé par la famille {maker} de {village}, près de {place[1]}.",
            f"Il servait {use[1]} et fut conservé par {keeper[1]} jusqu'en {year}.",
            f"Le {material[1]} présente {condition[1]}.",
            f"Documenté en {recorded} par l'équipe de documentation de {community}.",
        ]
        if threat != "none":
            en.insert(3, THREAT_SENTENCES[threat][0])
            fr.insert(3, THREAT_SENTENCES[threat][1])
        keep = sorted(rng.sample(range(len(en)), rng.randint(3, len(en))))
        ar_description = (
            f"صنعت هذه القطعة عائلة {maker} في {village} قرب {place[2]}. وثقها فريق التوثيق عام {recorded}."
        )
        return {
            "en": (f"{adjective[0]} {material[0]} {kind[0]} from {place[0]}", " ".join(en[i] for i in keep)),
            "fr": (
                f"{kind[1].capitalize()} {adjective[1]} en {material[1]} de {place[1]}",
                " ".join(fr[i] for i in keep if i < len(fr)),
            ),
            "ar": (f"{kind[2]} من {place[2]}", ar_description),
        }

    def batch(self, count: int) -> dict[str, list]:
        from archive.models import Asset, HeritageObject, ObjectText, ObjectVersion
        from preservation.models import Replica, StoreObject

        rng = self.rng
        rows: dict[str, list] = {key: [] for key in ("objects", "texts", "versions", "states", "assets", "replicas")}
        pending = []  # per object: its texts, whether it has files and which
        for _ in range(count):
            collection, region, languages, community_name = rng.choices(
                self.collections, weights=self.collection_weights
            )[0]
            status, access, embargoed, _weight = rng.choices(ACCESS_MIX, weights=[m[3] for m in ACCESS_MIX])[0]
            kind = rng.choices(TYPES, weights=TYPE_WEIGHTS)[0]
            material, adjective = rng.choice(MATERIALS), rng.choice(ADJECTIVES)
            place = rng.choice(PLACES[region])
            village, maker = self.lexicon.pick(rng), self.lexicon.pick(rng)
            period = rng.choices(PERIODS, weights=PERIOD_WEIGHTS)[0] if rng.random() < 0.9 else None
            year_start = year_end = None
            if period and rng.random() < 0.7:
                year_start = rng.randint(period[1], period[2])
                year_end = min(period[2], year_start + rng.randint(0, 50))
            threat = rng.choices(THREATS, weights=THREAT_WEIGHTS)[0]
            level = 0 if threat == "none" else rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0]
            located = rng.random() < 0.88
            created = self.now - dt.timedelta(days=rng.uniform(1, 6 * 365))
            published = status == "published" or status == "withdrawn"
            obj = HeritageObject(
                identifier=self.identifier(),
                collection=collection,
                object_type=kind[0],
                culture=rng.choice(CULTURES[region]) if rng.random() < 0.85 else "",
                period_label=period[0] if period else "",
                year_start=year_start,
                year_end=year_end,
                place_name=place[0] if rng.random() < 0.95 else "",
                latitude=round(place[3] + rng.gauss(0, 0.08), 5) if located else None,
                longitude=round(place[4] + rng.gauss(0, 0.08), 5) if located else None,
                sensitive_location=located and rng.random() < 0.06,
                threat_type=threat,
                threat_level=level,
                rights_statement=rng.choice(
                    [
                        "http://rightsstatements.org/vocab/InC-EDU/1.0/",
                        "http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
                    ]
                )
                if rng.random() < 0.3
                else "",
                licence=rng.choices(LICENCES, weights=LICENCE_WEIGHTS)[0],
                access_level=access,
                embargo_until=(self.now + dt.timedelta(days=rng.randint(30, 900))).date() if embargoed else None,
                status=status,
                keywords=rng.sample(KEYWORDS, rng.randint(1, 5)) + ([maker] if rng.random() < 0.3 else []),
                labels=rng.sample(self.labels, rng.randint(1, 2)) if rng.random() < 0.1 else [],
                featured=status == "published" and access == "public" and rng.random() < 0.002,
                provenance=f"Given by {maker} of {village} in {rng.randint(1950, 2024)}." if rng.random() < 0.4 else "",
                created=created,
                updated=created + dt.timedelta(days=rng.uniform(0, 30)),
                published_at=created + dt.timedelta(days=rng.uniform(1, 20)) if published else None,
            )
            all_texts = self.texts(region, kind, material, adjective, place, village, maker, community_name, threat)
            original = rng.choices(list(languages), weights=list(languages.values()))[0]
            chosen = {original}
            for language in ("en", "fr"):
                if language != original and rng.random() < 0.55:
                    chosen.add(language)
            texts = [
                ObjectText(
                    object=obj,
                    language=language,
                    title=all_texts[language][0],
                    description=all_texts[language][1],
                    is_original=language == original,
                )
                for language in chosen
            ]
            texts.sort(key=lambda text: (not text.is_original, text.language))  # ObjectText.Meta.ordering
            parts = [obj.identifier, obj.object_type, obj.culture, obj.period_label, obj.place_name]
            parts += [str(keyword) for keyword in obj.keywords]
            for text in texts:
                parts += [text.title, text.description]
            obj.search_text = "\n".join(part for part in parts if part)  # = HeritageObject.build_search_text()
            media = rng.random()
            pending.append((obj, texts, "image" if media < 0.70 else "3d" if media < 0.75 else None))
            rows["objects"].append(obj)
            rows["texts"] += texts

        for obj, _texts, media in pending:
            if media is None:
                continue
            version = ObjectVersion(object=obj, number=1, created=obj.created, message="Ingest")
            rows["versions"].append(version)
            rows["states"] += [StoreObject(object=obj, store=store, head_version=1) for store in self.stores]
            self.files += 1
            stem = f"{'IMG' if media == 'image' else 'SCAN'}_{self.files:06d}"

            def asset(role, filename, mime, puid, size, derived_from=None, obj=obj, version=version, media=media):
                return Asset(
                    id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    object=obj,
                    role=role,
                    derived_from=derived_from,
                    original_name=filename,
                    filename=filename,
                    size=size,
                    sha256=_hex(rng),
                    puid=puid,
                    mime=mime,
                    format_key="image" if media == "image" else "mesh",
                    status=Asset.State.READY,
                    version=version,
                    created=obj.created,
                    updated=obj.created,
                )

            if media == "image":
                original = asset(Asset.Role.ORIGINAL, f"{stem}.jpg", "image/jpeg", "fmt/43", rng.randint(2, 12) * MB)
                files = [
                    original,
                    asset(Asset.Role.MASTER, f"{stem}.tif", "image/tiff", "fmt/353", 72 * MB, original),
                    asset(Asset.Role.ACCESS, f"{stem}-access.jpg", "image/jpeg", "fmt/43", 600_000, original),
                    asset(Asset.Role.THUMBNAIL, f"{stem}-thumb.jpg", "image/jpeg", "fmt/43", 20_000, original),
                ]
            else:
                ply = "application/octet-stream"
                original = asset(Asset.Role.ORIGINAL, f"{stem}.ply", ply, "fmt/831", 90 * MB)
                files = [
                    original,
                    asset(Asset.Role.MASTER, f"{stem}-master.ply", ply, "fmt/831", 90 * MB, original),
                    asset(Asset.Role.ACCESS, f"{stem}.glb", "model/gltf-binary", "fmt/1294", 12 * MB, original),
                    asset(Asset.Role.PREVIEW, f"{stem}-preview.glb", "model/gltf-binary", "fmt/1294", 2 * MB, original),
                    asset(Asset.Role.THUMBNAIL, f"{stem}-thumb.png", "image/png", "fmt/13", 60_000, original),
                ]
            rows["assets"] += files
            for file in files:
                for store in self.stores:
                    rows["replicas"].append(
                        Replica(
                            asset=file,
                            store=store,
                            key=f"{obj.identifier}/v1/content/{file.id}/{file.filename}",
                            state=Replica.State.OK,
                            observed_sha256=file.sha256,
                            verified_at=obj.created,
                        )
                    )
        return rows


def generate_catalogue(count: int, seed: int) -> dict:
    """``count`` objects with everything around them, ``bulk_create`` in batches of BATCH; then VACUUM ANALYZE."""
    from django.db import connection, transaction
    from django.utils import timezone

    from archive.models import Asset, Collection, Community, HeritageObject, ObjectText, ObjectVersion
    from preservation.models import Replica
    from preservation.replication import ensure_store_rows

    rng = random.Random(seed)
    started = time.perf_counter()
    stores = list(ensure_store_rows().values())
    collections = []
    for slug, name, region, languages, how_many in COMMUNITIES:
        community = Community.objects.create(slug=slug, name=name, description=f"{name}: generated for the benchmark.")
        for number, (title, _title_fr) in enumerate(COLLECTION_THEMES[:how_many], start=1):
            collection = Collection.objects.create(
                community=community, slug=f"{slug}-{number}", title=f"{name}: {title}", description=title
            )
            collections.append((collection, region, languages, name))
    maker = CatalogueMaker(rng, collections, stores, timezone.now())
    totals = dict.fromkeys(("objects", "texts", "versions", "states", "assets", "replicas"), 0)
    models = {"objects": HeritageObject, "texts": ObjectText, "versions": ObjectVersion}
    from preservation.models import StoreObject

    models.update({"states": StoreObject, "assets": Asset, "replicas": Replica})
    build_s = insert_s = 0.0
    with own_timestamps(HeritageObject, Asset):
        for first in range(0, count, BATCH):
            mark = time.perf_counter()
            rows = maker.batch(min(BATCH, count - first))
            build_s += lap(mark)
            mark = time.perf_counter()
            with transaction.atomic():
                for key in ("objects", "texts", "versions", "states", "assets", "replicas"):
                    models[key].objects.bulk_create(rows[key], batch_size=BATCH)
                    totals[key] += len(rows[key])
            insert_s += lap(mark)
            log(f"  {first + len(rows['objects']):,} / {count:,} objects ({lap(started):.0f} s)")
    generate_s = lap(started)
    mark = time.perf_counter()
    with connection.cursor() as cursor:  # autovacuum would otherwise start on the new rows during the runs
        for model in (HeritageObject, ObjectText, ObjectVersion, StoreObject, Asset, Replica, Collection, Community):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    vacuum_s = lap(mark)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        database_bytes = cursor.fetchone()[0]
    return {
        **totals,
        "communities": len(COMMUNITIES),
        "collections": len(collections),
        "generate_s": generate_s,
        "build_rows_s": build_s,
        "bulk_create_s": insert_s,
        "vacuum_analyze_s": vacuum_s,
        "database_mb": database_bytes / MB,
    }


def check_search_text(sample: int = 50) -> None:
    """The search text written by bulk_create must be exactly what ``build_search_text()`` makes."""
    from archive.models import HeritageObject

    objects = HeritageObject.objects.order_by("?").prefetch_related("texts")[:sample]
    wrong = [obj.identifier for obj in objects if obj.build_search_text() != obj.search_text]
    if wrong:
        raise RuntimeError(f"generated search_text differs from build_search_text() for {wrong[:5]}")


# --- what to request ---------------------------------------------------------------------------------


def search_queries(visible_count: int) -> list[dict]:
    """Queries of measured selectivity: words whose share of documents is closest to 50%, 10%, 1%, 0.1% and
    0.01% (from ``ts_stat`` over the search index's own vectors), two of them together, one with a facet filter
    on the most common object type, and a word found nowhere."""
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection

    from archive.access import visible_to
    from archive.models import HeritageObject
    from archive.portal.search import Query
    from archive.portal.search import search as run_search

    table = HeritageObject._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word, ndoc FROM ts_stat($$SELECT to_tsvector('simple', search_text) FROM " + table + "$$)"
        )
        found = cursor.fetchall()
        cursor.execute(f"SELECT lower(identifier) FROM {table}")
        identifiers = {row[0] for row in cursor.fetchall()}  # an identifier is no word anyone searches for
        stats = [(word, n) for word, n in found if re.fullmatch(r"[a-z]{4,}", word) and word not in identifiers]
        cursor.execute(f"SELECT count(*) FROM {table}")
        total = cursor.fetchone()[0]
        cursor.execute(f"SELECT object_type FROM {table} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        common_type = cursor.fetchone()[0]
    picked: list[str] = []
    for share in (0.5, 0.1, 0.01, 0.001, 0.0001):
        candidates = [item for item in stats if item[0] not in picked]
        word, _ndoc = min(candidates, key=lambda item: (abs(math.log(max(item[1], 1) / (share * total))), item[0]))
        picked.append(word)
    queries = [{"label": f"q={word}", "params": {"q": word}} for word in picked]
    queries.append({"label": f"q={picked[0]} {picked[1]}", "params": {"q": f"{picked[0]} {picked[1]}"}})
    queries.append({"label": f"q={picked[0]}&type={common_type}", "params": {"q": picked[0], "type": common_type}})
    queries.append({"label": "q=zzyzxq (no match)", "params": {"q": "zzyzxq"}})
    visible = visible_to(AnonymousUser())
    for query in queries:
        params = query["params"]
        filters = {"type": [params["type"]]} if "type" in params else {}
        query["path"] = "/search/?" + urlencode(params)
        query["matches"] = run_search(visible, Query(text=params["q"], filters=filters)).count()
        query["share_of_visible"] = query["matches"] / max(1, visible_count)
    return queries


def object_paths(rng: random.Random) -> list[str]:
    from django.contrib.auth.models import AnonymousUser

    from archive.access import visible_to

    identifiers = sorted(visible_to(AnonymousUser()).values_list("identifier", flat=True))
    return [f"/o/{identifier}/" for identifier in rng.sample(identifiers, min(OBJECT_SAMPLE, len(identifiers)))]


# --- gunicorn ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """``gunicorn config.wsgi:application --workers W --timeout 120`` (the Dockerfile's command) on loopback."""

    def __init__(self, env: dict[str, str], workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / "gunicorn.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(workers),
            "--timeout",
            str(int(REQUEST_TIMEOUT)),
            "--access-logfile",
            str(workdir / "access.log"),  # production logs every request (to stdout); so does this run
        ]
        with open(self.log_path, "wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}{STATIC_PATH}", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer; its log ends with:\n{self.log_path.read_text()[-3000:]}")

    def settle(self, timeout: float = 30) -> None:
        """Wait until every worker has booted (loaded Django): gunicorn idle over half a second."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with CpuMeter(self) as meter:
                time.sleep(0.5)
            if meter.figures["server_cores"] < 0.05:
                return

    def pids(self) -> list[int]:
        """The master and its workers."""
        pid = self.process.pid
        found = [pid]
        with contextlib.suppress(OSError):
            found += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return found

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --- CPU accounting ---------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _machine_cpu() -> tuple[float, float, float] | None:
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    # total, idle + iowait, irq + softirq (the kernel's side of loopback TCP: no process is charged for it)
    return sum(fields) / TICKS, (fields[3] + fields[4]) / TICKS, (fields[5] + fields[6]) / TICKS


class CpuMeter:
    """Cores used over a run by this process (the load generator), by gunicorn (master and workers) and by the
    rest of the machine (PostgreSQL's backends, and any other work)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> CpuMeter:
        self.wall = time.perf_counter()
        self.own = sum(os.times()[:2])
        self.server_cpu = {pid: _process_cpu(pid) for pid in self.server.pids()}
        self.machine = _machine_cpu()
        return self

    def __exit__(self, *_exc) -> None:
        wall = lap(self.wall)
        own = sum(os.times()[:2]) - self.own
        server = 0.0
        for pid, before in self.server_cpu.items():
            after = _process_cpu(pid)
            if before is not None and after is not None:
                server += after - before
        machine = _machine_cpu()
        busy = irq = None
        if machine and self.machine:
            total, idle = machine[0] - self.machine[0], machine[1] - self.machine[1]
            busy = (total - idle) / max(total, 1e-9) * (os.cpu_count() or 1)
            irq = (machine[2] - self.machine[2]) / max(total, 1e-9) * (os.cpu_count() or 1)
        self.figures = {
            "generator_cores": own / wall,
            "server_cores": server / wall,
            "irq_cores": irq,
            "rest_cores": None if busy is None else max(0.0, busy - (own + server) / wall - irq),
            "machine_busy_cores": busy,
            "generator_cpu_s": own,
        }


# --- the load generator -----------------------------------------------------------------------------


class Connection:
    """One HTTP/1.1 client connection: keep-alive when the server keeps it, a new one when it closes (the sync
    worker closes every connection, as the production command runs it)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str, keep_body: bool = False) -> tuple[int, int, bytes]:
        """(status, body bytes, body if ``keep_body``); retries once on a fresh connection when a kept one was
        closed by the server before it answered."""
        for attempt in (1, 2):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nUser-Agent: heritage-bench\r\n"
                "Accept: */*\r\n\r\n".encode()
            )
            try:
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError):
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            return await self._body(head, keep_body)
        raise AssertionError("unreachable")

    async def _body(self, head: bytes, keep_body: bool) -> tuple[int, int, bytes]:
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        reader = self.reader
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, len(body), body if keep_body else b""


def _percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def _load(port: int, paths: list[tuple[str, str]], concurrency: int, seconds: float) -> dict:
    """C connections in a closed loop over ``paths`` (label, path) for ``seconds``; requests under way at the
    end are waited for and counted."""
    rotation = itertools.cycle(paths)
    samples: list[tuple[str, float, int | None, int]] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()
    deadline = start + seconds
    finished = [start]

    async def client() -> None:
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                label, path = next(rotation)
                sent = time.perf_counter()
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT):
                        status, nbytes, _body = await connection.get(path)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as error:
                    connection.close()
                    kind = type(error).__name__
                    errors[kind] = errors.get(kind, 0) + 1
                    status, nbytes = None, 0
                done = time.perf_counter()
                samples.append((label, done - sent, status, nbytes))
                finished[0] = max(finished[0], done)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {"samples": samples, "errors": errors, "elapsed": finished[0] - start}


def run_load(port: int, paths: list[tuple[str, str]], concurrency: int, seconds: float, warmup: float, server) -> dict:
    """Warm-up (not counted), then the measured run with CPU accounting; figures of the successful requests."""
    if warmup > 0:
        asyncio.run(_load(port, paths, concurrency, warmup))
    with CpuMeter(server) as meter:
        result = asyncio.run(_load(port, paths, concurrency, seconds))
    samples = result["samples"]
    ok = [sample for sample in samples if sample[2] == 200]
    statuses: dict[str, int] = {}
    for _label, _latency, status, _nbytes in samples:
        if status not in (200, None):
            statuses[str(status)] = statuses.get(str(status), 0) + 1
    latencies = sorted(sample[1] for sample in ok)
    per_label = {}
    for label, _path in paths:
        if label in per_label:
            continue
        mine = sorted(sample[1] for sample in ok if sample[0] == label)
        per_label[label] = {
            "requests": len(mine),
            "p50_ms": _ms(_percentile(mine, 0.50)),
            "p95_ms": _ms(_percentile(mine, 0.95)),
        }
    return {
        "concurrency": concurrency,
        "requests": len(samples),
        "ok": len(ok),
        "errors": len(samples) - len(ok),
        "error_statuses": statuses,
        "error_kinds": result["errors"],
        "elapsed_s": result["elapsed"],
        "req_per_s": len(ok) / result["elapsed"] if result["elapsed"] > 0 else 0.0,
        "p50_ms": _ms(_percentile(latencies, 0.50)),
        "p95_ms": _ms(_percentile(latencies, 0.95)),
        "p99_ms": _ms(_percentile(latencies, 0.99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "mean_bytes": sum(sample[3] for sample in ok) / len(ok) if ok else 0,
        "cpu": meter.figures,
        "generator_us_per_request": meter.figures["generator_cpu_s"] / max(1, len(samples)) * 1e6,
        "per_label": per_label if len(per_label) > 1 else {},
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def probe(port: int, path: str) -> dict:
    """One request alone: its time, status and body."""

    async def once() -> tuple[int, int, bytes]:
        connection = Connection(port)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT * 3):
                return await connection.get(path, keep_body=True)
        finally:
            connection.close()

    started = time.perf_counter()
    status, nbytes, body = asyncio.run(once())
    return {"path": path, "seconds": lap(started), "status": status, "bytes": nbytes, "body": body}


def alone(port: int, paths: list[tuple[str, str]], least: int = 5, budget: float = 20.0) -> dict:
    """Requests one at a time, no other load: each distinct label once (up to 8), then more in turn until
    ``least`` requests, unless ``budget`` seconds have gone by. The median is the page's own time."""
    distinct = list({label: (label, path) for label, path in paths}.values())[:8]
    rotation = itertools.chain(distinct, itertools.cycle(paths))
    timings: list[tuple[str, float]] = []
    started = time.perf_counter()
    while len(timings) < max(least, len(distinct)) and not (timings and lap(started) > budget):
        label, path = next(rotation)
        answer = probe(port, path)
        if answer["status"] != 200:
            raise RuntimeError(f"{path} answered {answer['status']}: {answer['body'][:300]!r}")
        timings.append((label, answer["seconds"]))
    per_label = {}
    for label, seconds in timings:
        per_label.setdefault(label, []).append(seconds)
    return {
        "requests": len(timings),
        "median_ms": _ms(sorted(seconds for _label, seconds in timings)[(len(timings) - 1) // 2]),
        "per_label_ms": {label: _ms(min(values)) for label, values in per_label.items()},
    }


# --- the run ----------------------------------------------------------------------------------------


def scenarios(queries: list[dict], objects: list[str]) -> list[dict]:
    return [
        {"name": "static", "label": f"static file {STATIC_PATH} (the ceiling)", "paths": [("static", STATIC_PATH)]},
        {"name": "home", "label": "home /", "paths": [("home", "/")]},
        {
            "name": "search",
            "label": f"search /search/?q=... ({len(queries)} queries in turn)",
            "paths": [(query["label"], query["path"]) for query in queries],
        },
        {"name": "search_all", "label": "search, no query: /search/ (facets over all)", "paths": [("all", "/search/")]},
        {
            "name": "object",
            "label": f"object pages /o/<id>/ ({len(objects)} random public)",
            "paths": [("object", path) for path in objects],
        },
        {"name": "geojson", "label": "map /map/objects.geojson", "paths": [("geojson", "/map/objects.geojson")]},
    ]


def run_scenarios(options, server: Server, queries: list[dict], objects: list[str]) -> tuple[list[dict], dict]:
    results, extra = [], {}
    for scenario in scenarios(queries, objects):
        first = probe(server.port, scenario["paths"][0][1])
        if first["status"] != 200:
            raise RuntimeError(f"{first['path']} answered {first['status']} before the load: {first['body'][:300]!r}")
        single = alone(server.port, scenario["paths"])
        concurrency, warmup = options.concurrency, options.warmup
        if single["median_ms"] > SLOW_PROBE * 1000:  # C connections would only queue behind W busy workers
            concurrency, warmup = min(options.concurrency, options.workers), 0
        if scenario["name"] == "geojson":
            document = json.loads(first["body"])
            extra["geojson"] = {
                "bytes": first["bytes"],
                "gzip_bytes": len(gzip.compress(first["body"], 6)),  # what gzip would send; nothing compresses it
                "features": len(document["features"]),
                "probe_s": first["seconds"],
            }
        log(
            f"{scenario['label']}: first request {first['seconds'] * 1000:.0f} ms, {first['bytes']:,} bytes; "
            f"alone {single['median_ms']:.0f} ms (median of {single['requests']}); "
            f"{concurrency} connection(s) for {options.seconds:g} s"
            + (f" after {warmup:g} s of warm-up" if warmup else "")
        )
        figures = run_load(server.port, scenario["paths"], concurrency, options.seconds, warmup, server)
        results.append(
            {
                "name": scenario["name"],
                "label": scenario["label"],
                "probe_s": first["seconds"],
                "probe_bytes": first["bytes"],
                "alone_ms": single["median_ms"],
                "alone_requests": single["requests"],
                "alone_per_label_ms": single["per_label_ms"] if len(single["per_label_ms"]) > 1 else {},
                **figures,
            }
        )
        log(
            f"  {figures['req_per_s']:.1f} req/s, p50 {figures['p50_ms'] or 0:.1f} ms, "
            f"p95 {figures['p95_ms'] or 0:.1f} ms, {figures['errors']} error(s)"
        )
    ceiling = results[0]["req_per_s"]
    for result in results:
        result["of_static"] = result["req_per_s"] / ceiling if ceiling else None
        result["slow"] = (result["p95_ms"] or 0) > SLOW_P95 * 1000
    extra["sitemap"] = fetch_sitemap(server.port)
    sitemap = extra["sitemap"]
    log(
        f"sitemap.xml: {sitemap['pages']} page(s), {sitemap['seconds']:.2f} s, {sitemap['bytes']:,} bytes, "
        f"{sitemap['urls']:,} URLs"
    )
    return results, extra


def fetch_sitemap(port: int) -> dict:
    """``/sitemap.xml`` once, one request at a time; when it is a sitemap index, every sitemap it lists too."""
    first = probe(port, "/sitemap.xml")
    if first["status"] != 200:
        raise RuntimeError(f"/sitemap.xml answered {first['status']}: {first['body'][:300]!r}")
    index = b"<sitemapindex" in first["body"]
    pages = []
    if index:
        for location in re.findall(rb"<loc>([^<]+)</loc>", first["body"]):
            parts = urlsplit(html.unescape(location.decode()))
            page = probe(port, parts.path + (f"?{parts.query}" if parts.query else ""))
            if page["status"] != 200:
                raise RuntimeError(f"{page['path']} answered {page['status']}: {page['body'][:300]!r}")
            pages.append(page)
    else:
        pages = [first]
    return {
        "index": index,
        "index_s": first["seconds"] if index else None,
        "pages": len(pages),
        "seconds": sum(page["seconds"] for page in pages) + (first["seconds"] if index else 0),
        "slowest_page_s": max(page["seconds"] for page in pages) if pages else 0.0,
        "bytes": sum(page["bytes"] for page in pages) + (first["bytes"] if index else 0),
        "urls": sum(page["body"].count(b"<url>") for page in pages),
        "objects_listed": sum(len(re.findall(rb"<loc>[^<]*/o/[^<]+</loc>", page["body"])) for page in pages),
    }


def run(options: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> dict:
    name = f"heritage_bench_portal_{os.getpid()}"
    log(f"creating database {name} and migrating")
    database_url = create_database(options.database_url, name)
    if not options.keep:
        cleanup.callback(drop_database, options.database_url, name)
    env = server_env(workdir, database_url)
    setup_django(env)
    log(f"generating {options.objects:,} objects (bulk_create, {BATCH:,} a batch)")
    catalogue = generate_catalogue(options.objects, options.seed)
    check_search_text()
    log(
        f"catalogue: {catalogue['generate_s']:.1f} s, then VACUUM ANALYZE {catalogue['vacuum_analyze_s']:.1f} s; "
        f"database {catalogue['database_mb']:.0f} MB"
    )
    from django.contrib.auth.models import AnonymousUser
    from django.db import connections

    from archive.access import visible_to

    visible_count = visible_to(AnonymousUser()).count()
    mark = time.perf_counter()
    queries = search_queries(visible_count)
    catalogue["pick_queries_s"] = lap(mark)
    objects = object_paths(random.Random(options.seed + 1))
    connections.close_all()  # this process keeps no connection open during the runs
    server = Server(env, options.workers, workdir)
    cleanup.callback(server.stop)
    server.wait_ready()
    server.settle()
    log(f"gunicorn: {options.workers} sync worker(s) on http://{HOST}:{server.port}")
    options.busy_before = cpu_busy()
    if options.busy_before is not None and options.busy_before > BUSY_WARNING:
        log(f"WARNING: the CPUs are {options.busy_before:.0%} busy with other work; the figures will be unreliable")
    results, extra = run_scenarios(options, server, queries, objects)
    options.busy_after = cpu_busy(1.0)
    if options.keep:
        log(f"kept database {name} ({database_url}) and {workdir} (gunicorn.log, access.log)")
    return {
        "benchmark": "portal",
        "cores": os.cpu_count(),
        "workers": options.workers,
        "concurrency": options.concurrency,
        "seconds": options.seconds,
        "warmup_s": options.warmup,
        "cpu_busy_before": options.busy_before,
        "cpu_busy_after": options.busy_after,
        "database": name if options.keep else None,
        "load_generator": {
            "kind": "python asyncio, raw HTTP/1.1, in the benchmark's process",
            "wrk_found": shutil.which("wrk") is not None,
            "shares_cores_with_server": True,
        },
        "catalogue": {**catalogue, "visible_to_anonymous": visible_count},
        "search_queries": [
            {key: query[key] for key in ("label", "path", "matches", "share_of_visible")} for query in queries
        ],
        "object_pages": len(objects),
        "scenarios": results,
        **extra,
    }


# --- report -----------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_table(report: dict) -> None:
    catalogue = report["catalogue"]
    busy = {moment: report[f"cpu_busy_{moment}"] for moment in ("before", "after")}
    measured = [f"{share:.0%} {moment}" for moment, share in busy.items() if share is not None]
    print(
        f"Portal under load: {catalogue['objects']:,} objects ({catalogue['visible_to_anonymous']:,} visible to an "
        f"anonymous visitor), gunicorn {report['workers']} sync workers on {report['cores']} cores, "
        f"{report['concurrency']} connections, {report['seconds']:g} s a scenario after {report['warmup_s']:g} s of "
        "warm-up" + (f"; CPUs busy with other work: {', '.join(measured)} the runs" if measured else "")
    )
    if any(share is not None and share > BUSY_WARNING for share in busy.values()):
        print("WARNING: other work was using the CPUs: these figures are unreliable, run again on a quiet machine.")
    print(
        f"catalogue: {catalogue['texts']:,} texts, {catalogue['assets']:,} files, {catalogue['replicas']:,} replicas "
        f"in {catalogue['collections']} collections of {catalogue['communities']} communities; generated in "
        f"{catalogue['generate_s']:.1f} s ({catalogue['build_rows_s']:.1f} s building rows, "
        f"{catalogue['bulk_create_s']:.1f} s bulk_create), VACUUM ANALYZE {catalogue['vacuum_analyze_s']:.1f} s; "
        f"database {catalogue['database_mb']:.0f} MB"
    )
    generator = report["load_generator"]
    print(
        f"load generator: {generator['kind']} ("
        + ("wrk is installed but not used" if generator["wrk_found"] else "wrk is not installed")
        + f"); it shares the {report['cores']} cores with gunicorn and PostgreSQL"
    )
    print()
    width = max(len(row["label"]) for row in report["scenarios"])
    header = (
        f"{'scenario':<{width}}  {'alone ms':>8} {'conn':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} "
        f"{'/static':>7} {'kB':>8}   {'cores: gen':>10} {'gunicorn':>8} {'irq':>5} {'rest':>5}"
    )
    print(header)
    print("-" * len(header))
    for row in report["scenarios"]:
        cpu = row["cpu"]
        print(
            f"{row['label']:<{width}}  {_fmt(row['alone_ms']):>8} {row['concurrency']:>4} {row['req_per_s']:>8.1f} "
            f"{_fmt(row['p50_ms']):>8} "
            f"{_fmt(row['p95_ms']):>8} {_fmt(row['p99_ms']):>8} {row['errors']:>6} {_fmt(row['of_static'], 3):>7} "
            f"{row['mean_bytes'] / 1000:>8.1f}   {cpu['generator_cores']:>10.2f} {cpu['server_cores']:>8.2f} "
            f"{_fmt(cpu['irq_cores'], 2):>5} {_fmt(cpu['rest_cores'], 2):>5}" + ("  SLOW" if row["slow"] else "")
        )
    print(
        "alone: median time of one request with no other load; conn: connections of the load (a page slower "
        "than 2 s alone gets one per worker: more would only queue); p50/p95/p99: latency under that load, "
        "queueing included; /static: req/s over the static file's; kB: mean body; cores: CPU used during the "
        "load by this load generator, by gunicorn, by the kernel's interrupts (loopback TCP), by the rest of the "
        "machine (PostgreSQL, other work)"
    )
    search = next(row for row in report["scenarios"] if row["name"] == "search")
    print()
    width = max(len(query["label"]) for query in report["search_queries"])
    print(f"{'search query':<{width}}  {'matches':>8} {'of visible':>10} {'alone ms':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for query in report["search_queries"]:
        figures = search["per_label"].get(query["label"], {})
        print(
            f"{query['label']:<{width}}  {query['matches']:>8,} {query['share_of_visible']:>10.2%} "
            f"{_fmt(search['alone_per_label_ms'].get(query['label'])):>8} "
            f"{_fmt(figures.get('p50_ms')):>8} {_fmt(figures.get('p95_ms')):>8}"
        )
    print()
    static = report["scenarios"][0]
    cpu = static["cpu"]
    capacity = 1e6 / static["generator_us_per_request"] if static["generator_us_per_request"] else 0
    print(
        f"load generator on the static file: {static['generator_us_per_request']:.0f} us of CPU a request (at most "
        f"{capacity:,.0f} req/s on one core); it used {cpu['generator_cores']:.2f} cores and gunicorn "
        f"{cpu['server_cores']:.2f} of {report['cores']}"
        + (
            ": the generator takes a large share of the machine, so the ceiling is that of the shared machine, "
            "not of the server alone"
            if cpu["generator_cores"] > 0.5
            else ""
        )
    )
    geojson = report.get("geojson")
    if geojson:
        print(
            f"map GeoJSON: {geojson['bytes'] / MB:.1f} MB ({geojson['gzip_bytes'] / MB:.1f} MB if it were gzipped), "
            f"{geojson['features']:,} features in one response; first request alone {geojson['probe_s']:.2f} s"
        )
    sitemap = report["sitemap"]
    how = (
        f"an index ({sitemap['index_s']:.2f} s) and the {sitemap['pages']} sitemaps it lists (slowest "
        f"{sitemap['slowest_page_s']:.2f} s)"
        if sitemap["index"]
        else "one sitemap"
    )
    print(
        f"sitemap.xml once, one request at a time: {how}: {sitemap['seconds']:.2f} s in all, "
        f"{sitemap['bytes'] / MB:.1f} MB, {sitemap['urls']:,} URLs, of which {sitemap['objects_listed']:,} objects "
        f"of the {catalogue['visible_to_anonymous']:,} public ones"
    )
    slow = [row["name"] for row in report["scenarios"] if row["slow"]]
    if slow:
        print(f"SLOW (p95 above {SLOW_P95:g} s): {', '.join(slow)}")


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects in the catalogue (default 100000)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the load (default 16)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds a scenario (default 15)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2: the cores here)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated catalogue")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--keep", action="store_true", help="keep the database and the temporary folder")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help="PostgreSQL server (its database name is ignored: heritage_bench_portal_<pid> is created there)",
    )
    options = parser.parse_args(argv)
    if min(options.objects, options.concurrency, options.workers) < 1 or options.seconds <= 0 or options.warmup < 0:
        parser.error("--objects, --concurrency and --workers must be at least 1, --seconds above 0")
    if not options.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL: search uses its full-text index")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    unwind_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="heritage-bench-portal-"))
    try:
        with contextlib.ExitStack() as cleanup:
            if not options.keep:
                cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
            report = run(options, workdir, cleanup)
            log("cleaning up: gunicorn" + ("" if options.keep else ", database, temporary folder"))
    except KeyboardInterrupt:
        log("interrupted; gunicorn, the database and the temporary folder were cleaned up")
        return 130
    if options.json:
        print(json.dumps(rounded(report), indent=2, ensure_ascii=False))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
