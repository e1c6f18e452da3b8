"""Schemathesis (a property-based OpenAPI fuzzer) against the live schema of /api/schema/, calling the
Django WSGI application in process: every GET operation, as a visitor and as a curator with a token,
with generated parameters and with identifiers and slugs that exist. No answer may be a server error,
and every answer must be documented (status code, content type, body shape).

Writes are covered by test_api.py with real files; a fuzzer creating objects would only fill drafts.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from archive.models import Asset
from tests.factories import attach_file, make_object, objects_in_every_state

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 25


@pytest.fixture(autouse=True)
def hypothesis_home(tmp_path):
    """Hypothesis keeps caches in ./.hypothesis/ by default: keep them in this test's folder instead."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture
def in_process_wsgi():
    """Requests served in this thread keep the test's database transaction (as Django's test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def archive(personas, tmp_path, settings):
    """Objects in every access state with files, a sensitive place, and a curator's token; no rate limit."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    objects = objects_in_every_state(personas.collection)
    objects["sensitive"] = make_object(
        personas.collection, "Shrine", latitude=12.3456, longitude=-3.4567, sensitive_location=True
    )
    assets = []
    for name, obj in objects.items():
        original = attach_file(obj, Asset.Role.ORIGINAL, f"original {name}".encode(), tmp_path / name)
        assets.append(attach_file(obj, Asset.Role.ACCESS, name.encode(), tmp_path / name, derived_from=original))
    known = {
        "identifier": [obj.identifier for obj in objects.values()],
        "asset_id": [str(asset.pk) for asset in assets],
        "slug": [personas.community.slug, personas.other_community.slug, personas.collection.slug],
    }
    return known, Token.objects.create(user=personas.curator).key


def fuzz(operation, known: dict, headers: dict) -> None:
    names = re.findall(r"{(\w+)}", operation.path)
    variants = [{name: known[name][i % len(known[name])] for name in names} for i in range(3)] if names else []
    strategy = st.one_of(
        operation.as_strategy(), *[operation.as_strategy(path_parameters=variant) for variant in variants]
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,  # nothing written to .hypothesis/
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    check()


def test_every_read_endpoint_conforms_to_its_schema_for_visitors_and_curators(archive, in_process_wsgi):
    known, token = archive
    schema = schemathesis.openapi.from_wsgi("/api/schema/", in_process_wsgi).include(method="GET")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/objects/", "/api/objects/{identifier}/events/"}
    for operation in operations:
        for headers in ({}, {"Authorization": f"Token {token}"}):
            fuzz(operation, known, headers)
