"""The six OAI-PMH verbs (section 4). ``respond`` takes the HTTP parameters and returns the response
document; each verb adds its element to the envelope or raises ``OAIError``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.urls import reverse
from lxml import etree

from . import formats, repository, responses, tokens
from .protocol import GRANULARITY, PROTOCOL_VERSION, OAIError, Request, datestamp, harvest_window, parse_request

OAI_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_IDENTIFIER_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
# repositoryIdentifierType of oai-identifier.xsd: a domain name (an IP address or "localhost" is not one).
_DOMAIN_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$")
_EMAIL_RE = re.compile(r"^\S+@(\S+\.)+\S+$")


def base_url() -> str:
    return settings.SITE_URL + reverse("oai:endpoint")


def admin_emails() -> list[str]:
    """ARCHIVE_OAI_ADMIN_EMAILS, else the addresses in ADMINS, else webmaster@<namespace> (a placeholder
    at the reserved .invalid domain when the namespace is not a domain name)."""
    configured = getattr(settings, "ARCHIVE_OAI_ADMIN_EMAILS", None) or [
        entry if isinstance(entry, str) else entry[1] for entry in getattr(settings, "ADMINS", [])
    ]
    emails = [address for address in configured if _EMAIL_RE.match(address)]
    if emails:
        return emails
    host = repository.namespace()
    return [f"webmaster@{host}" if _DOMAIN_RE.match(host) else "webmaster@localhost.invalid"]


def identify(request: Request, root: etree._Element) -> None:
    node = responses.element(root, "Identify")
    responses.element(node, "repositoryName", formats.repository_name())
    responses.element(node, "baseURL", base_url())
    responses.element(node, "protocolVersion", PROTOCOL_VERSION)
    for address in admin_emails():
        responses.element(node, "adminEmail", address)
    responses.element(node, "earliestDatestamp", datestamp(repository.earliest_datestamp()))
    responses.element(node, "deletedRecord", "persistent")
    responses.element(node, "granularity", GRANULARITY)
    namespace = repository.namespace()
    if _DOMAIN_RE.match(namespace):
        description = etree.SubElement(responses.element(node, "description"), f"{{{OAI_IDENTIFIER_NS}}}oai-identifier")
        description.set(
            "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation",
            f"{OAI_IDENTIFIER_NS} {OAI_IDENTIFIER_SCHEMA}",
        )
        for name, value in (
            ("scheme", "oai"),
            ("repositoryIdentifier", namespace),
            ("delimiter", ":"),
            ("sampleIdentifier", repository.oai_identifier("7K2M9QX4RT")),
        ):
            etree.SubElement(description, f"{{{OAI_IDENTIFIER_NS}}}{name}").text = value


def list_metadata_formats(request: Request, root: etree._Element) -> None:
    identifier = request.get("identifier")
    if identifier is not None and repository.find(identifier) is None:
        raise OAIError("idDoesNotExist", f"{identifier!r} is not an identifier in this repository.")
    # Every item offers every format (a deleted one as a header only), so noMetadataFormats never applies.
    node = responses.element(root, "ListMetadataFormats")
    for fmt in formats.FORMATS.values():
        entry = responses.element(node, "metadataFormat")
        responses.element(entry, "metadataPrefix", fmt.prefix)
        responses.element(entry, "schema", fmt.schema)
        responses.element(entry, "metadataNamespace", fmt.namespace)


def list_sets(request: Request, root: etree._Element) -> None:
    token = request.get("resumptionToken")
    state = tokens.decode(token, tokens.SETS) if token else tokens.ListState(tokens.SETS)
    found = repository.sets()
    if not found:
        raise OAIError("noSetHierarchy", "This repository has no sets yet (no community has published a record).")
    start, size = state.after_id, repository.page_size()
    if start >= len(found) and token:
        raise OAIError("badResumptionToken", "This resumptionToken points past the end of the list of sets.")
    node = responses.element(root, "ListSets")
    shown = found[start : start + size]
    for item in shown:
        entry = responses.element(node, "set")
        responses.element(entry, "setSpec", item.spec)
        responses.element(entry, "setName", item.name)
        if item.description.strip():
            responses.payload(responses.element(entry, "setDescription"), formats.set_description(item.description))
    more = start + len(shown) < len(found)
    _resumption(
        node,
        token,
        state,
        total=len(found),
        next_state=state.advance(after_id=start + len(shown), sent=len(shown)) if more else None,
    )


def _resumption(node, token: str | None, state: tokens.ListState, *, total: int, next_state: tokens.ListState | None):
    """A token for the next page; an empty one on the last page of a resumed list; none for a complete list."""
    if next_state is not None:
        token = tokens.encode(next_state)
        responses.resumption_token(node, token, cursor=state.cursor, total=total, expires=tokens.expiry())
    elif token:
        responses.resumption_token(node, "", cursor=state.cursor, total=total, expires=None)


def _harvest(request: Request, with_metadata: bool, root: etree._Element) -> None:
    token = request.get("resumptionToken")
    if token:
        state = tokens.decode(token, tokens.RECORDS)
        fmt = formats.FORMATS.get(state.metadata_prefix)
        if fmt is None:
            raise OAIError("badResumptionToken", "This resumptionToken names a format this repository no longer has.")
    else:
        fmt = formats.metadata_format(request.get("metadataPrefix"))
        state = tokens.ListState(
            tokens.RECORDS,
            metadata_prefix=fmt.prefix,
            set_spec=request.get("set") or "",
            from_=request.get("from") or "",
            until=request.get("until") or "",
        )
    try:
        start, end = harvest_window(state.from_, state.until)
    except OAIError as malformed:
        raise OAIError("badResumptionToken", "This resumptionToken is malformed.") from malformed
    changes = repository.harvest(start, end, state.set_spec)
    size = repository.page_size()
    found = repository.page(changes, state.after, size)
    if not found:  # also a resumed list whose remaining records all moved past its until while harvesting
        raise OAIError("noRecordsMatch", "No record matches these arguments.")
    shown, more = found[:size], len(found) > size
    if not token:  # counted once, on the first page; the tokens carry it on (an estimate, as the protocol allows)
        state = replace(state, total=changes.count() if more else len(shown))
    node = responses.element(root, "ListRecords" if with_metadata else "ListIdentifiers")
    if with_metadata:
        repository.prefetch_metadata(shown)
        for item in shown:
            responses.record(node, item, None if item.deleted else fmt.render(formats.public_record(item.obj)))
    else:
        for item in shown:
            responses.header(node, item)
    last = shown[-1]
    next_state = state.advance(after_at=last.at.isoformat(), after_id=last.change_id, sent=len(shown))
    total = max(state.total, state.cursor + len(shown) + (1 if more else 0))
    _resumption(node, token, state, total=total, next_state=next_state if more else None)


def list_identifiers(request: Request, root: etree._Element) -> None:
    _harvest(request, False, root)


def list_records(request: Request, root: etree._Element) -> None:
    _harvest(request, True, root)


def get_record(request: Request, root: etree._Element) -> None:
    identifier = request.get("identifier")
    fmt = formats.metadata_format(request.get("metadataPrefix"))
    item = repository.find(identifier)
    if item is None:
        raise OAIError("idDoesNotExist", f"{identifier!r} is not an identifier in this repository.")
    repository.prefetch_metadata([item])
    node = responses.element(root, "GetRecord")
    responses.record(node, item, None if item.deleted else fmt.render(formats.public_record(item.obj)))


HANDLERS: dict[str, Callable[[Request, etree._Element], None]] = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
}


def respond(params: dict[str, list[str]]) -> bytes:
    """The response document for one request's parameters (every value of every name)."""
    try:
        request = parse_request(params)
    except OAIError as failure:
        root = responses.envelope(base_url(), None)
        responses.error(root, failure)
        return responses.serialize(root)
    root = responses.envelope(base_url(), request.echo())
    try:
        HANDLERS[request.verb](request, root)
    except OAIError as failure:
        for child in list(root)[2:]:  # anything a verb wrote before failing
            root.remove(child)
        responses.error(root, failure)
    return responses.serialize(root)
