"""Building blocks for tests: the five personas and objects in every access state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from archive import actions
from archive.models import AccessLevel, Asset, Collection, Community, HeritageObject, Membership, Role


@dataclass
class Personas:
    """visitor (anonymous), outsider (member of another community), member, curator, staff."""

    community: Community
    other_community: Community
    collection: Collection
    outsider: object
    member: object
    curator: object
    staff: object

    def users(self) -> dict:
        return {
            "visitor": None,
            "outsider": self.outsider,
            "member": self.member,
            "curator": self.curator,
            "staff": self.staff,
        }


def make_user(username: str, **fields):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123", **fields)
    return user


def make_personas() -> Personas:
    community = Community.objects.create(slug="riverside", name="Riverside Community")
    other = Community.objects.create(slug="hilltop", name="Hilltop Community")
    collection = Collection.objects.create(community=community, slug="riverside-photos", title="Riverside photos")
    outsider = make_user("outsider")
    member = make_user("member")
    curator = make_user("curator")
    staff = make_user("staff", is_staff=True)
    Membership.objects.create(user=outsider, community=other, role=Role.MEMBER)
    Membership.objects.create(user=member, community=community, role=Role.MEMBER)
    Membership.objects.create(user=curator, community=community, role=Role.CURATOR)
    return Personas(community, other, collection, outsider, member, curator, staff)


def make_object(
    collection: Collection,
    title: str = "A carved lintel",
    *,
    access: str = AccessLevel.PUBLIC,
    published: bool = True,
    embargo_days: int | None = None,
    **fields,
) -> HeritageObject:
    obj = actions.create_object(
        collection,
        {"en": (title, f"Description of {title}"), "fr": (f"{title} (fr)", "")},
        original_language="en",
        access_level=access,
        **fields,
    )
    if embargo_days is not None:
        obj.embargo_until = timezone.localdate() + timedelta(days=embargo_days)
        obj.save()
    if published:
        actions.publish(obj)
    return obj


def attach_file(
    obj: HeritageObject,
    role: str,
    data: bytes,
    folder: Path,
    *,
    filename: str | None = None,
    derived_from: Asset | None = None,
    mime: str = "image/jpeg",
) -> Asset:
    """An asset with a local working copy, as the pipeline leaves it before replication."""
    folder.mkdir(parents=True, exist_ok=True)
    name = filename or f"{role}.jpg"
    path = folder / f"{role}-{name}"
    path.write_bytes(data)
    return Asset.objects.create(
        object=obj,
        role=role,
        derived_from=derived_from,
        original_name=name,
        filename=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        status=Asset.State.READY,
        local_path=str(path),
    )


def objects_in_every_state(collection: Collection) -> dict[str, HeritageObject]:
    return {
        "public": make_object(collection, "Public jar"),
        "community": make_object(collection, "Community song board", access=AccessLevel.COMMUNITY),
        "restricted": make_object(collection, "Restricted mask", access=AccessLevel.RESTRICTED),
        "draft": make_object(collection, "Draft basket", published=False),
        "embargoed": make_object(collection, "Embargoed photograph", embargo_days=30),
        "embargo_over": make_object(collection, "Released photograph", embargo_days=-1),
    }


def preserve_file(obj: HeritageObject, path: Path, tmp_path: Path) -> Asset:
    """Receive ``path`` as an original of ``obj`` (hashed, staged) and run the whole pipeline in this
    process: identified, normalized, packaged and replicated to every store allowed for it."""
    import shutil

    from preservation import pipeline

    staged = tmp_path / f"staged-{path.name}"
    shutil.copyfile(path, staged)
    data = path.read_bytes()
    asset, _ = actions.receive_file(obj, staged, path.name, hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    return pipeline.run_in_process(asset)


def client_for(user, **kwargs):
    """A test client, logged in as ``user`` (anonymous for None)."""
    from django.test import Client

    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client
