"""Full-text search on PostgreSQL: websearch syntax, ranking, hostile input, and the GIN index in use."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from archive.access import visible_to
from archive.portal.search import Query, search
from tests.factories import make_object

pytestmark = pytest.mark.services


@pytest.fixture
def on_postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (make test runs this with DATABASE_URL)")


def test_websearch_queries_rank_and_respect_access(on_postgres, personas):
    make_object(personas.collection, "Painted jar", culture="Nabataean", keywords=["ceramic"])
    make_object(personas.collection, "Jar lid", culture="Roman")
    make_object(personas.collection, "Painted jar (restricted)", access="restricted")
    found = lambda q: [o.title for o in search(visible_to(None), Query(text=q))]  # noqa: E731
    assert found("painted jar") == ["Painted jar"]
    assert set(found("jar")) == {"Painted jar", "Jar lid"}
    assert found("jar -roman") == ["Painted jar"]
    assert found('"jar lid"') == ["Jar lid"]
    assert found("ceramic OR roman") and set(found("ceramic OR roman")) == {"Painted jar", "Jar lid"}
    for hostile in ["' OR 1=1 --", "&|!:*()", "\\", "a" * 500, "<script>"]:
        assert Client().get("/search/", {"q": hostile}).status_code == 200


def test_the_search_uses_the_gin_index(on_postgres, personas):
    make_object(personas.collection, "Painted jar")
    query = search(visible_to(personas.staff), Query(text="painted")).query  # staff: no other filter
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "archive_object_search_vector" in plan, plan
