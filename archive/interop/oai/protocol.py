"""The OAI-PMH 2.0 request: which arguments each verb takes, how dates are read, and the errors the
protocol defines (http://www.openarchives.org/OAI/openarchivesprotocol.html, sections 2.7.1, 3.3, 3.6, 4).

``parse_request`` turns the HTTP parameters into a ``Request`` or raises ``OAIError`` (badVerb or
badArgument); the verbs raise the other errors. A response echoes a request's arguments only when they
were valid: never for badVerb and badArgument (section 3.2), and never a value the OAI-PMH schema would
refuse in the ``request`` element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA_LOCATION = f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
PROTOCOL_VERSION = "2.0"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DATESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The value patterns of the OAI-PMH schema (metadataPrefixType, setSpecType).
METADATA_PREFIX_RE = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
SET_SPEC_RE = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_URI_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


class OAIError(Exception):
    """One of the protocol's error conditions (section 3.6): ``code`` goes in ``<error code="...">``."""

    CODES = frozenset(
        {
            "badArgument",
            "badResumptionToken",
            "badVerb",
            "cannotDisseminateFormat",
            "idDoesNotExist",
            "noRecordsMatch",
            "noMetadataFormats",
            "noSetHierarchy",
        }
    )

    def __init__(self, code: str, message: str) -> None:
        if code not in self.CODES:
            raise ValueError(f"{code!r} is not an OAI-PMH error code")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def echoes_arguments(self) -> bool:
        return self.code not in ("badVerb", "badArgument")


@dataclass(frozen=True)
class Verb:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    exclusive: str | None = None  # an argument that must come alone (resumptionToken)


_SELECTIVE = frozenset({"from", "until", "set"})
VERBS = {
    "Identify": Verb(),
    "ListMetadataFormats": Verb(optional=frozenset({"identifier"})),
    "ListSets": Verb(exclusive="resumptionToken"),
    "GetRecord": Verb(required=frozenset({"identifier", "metadataPrefix"})),
    "ListIdentifiers": Verb(required=frozenset({"metadataPrefix"}), optional=_SELECTIVE, exclusive="resumptionToken"),
    "ListRecords": Verb(required=frozenset({"metadataPrefix"}), optional=_SELECTIVE, exclusive="resumptionToken"),
}


@dataclass(frozen=True)
class Request:
    verb: str
    arguments: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.arguments.get(name)

    def echo(self) -> dict[str, str]:
        """The attributes of the response's ``request`` element: the verb and every argument whose value
        the schema accepts there (an illegal prefix or identifier is reported, not repeated)."""
        attributes = {"verb": self.verb}
        for name, value in self.arguments.items():
            if name == "metadataPrefix" and not METADATA_PREFIX_RE.match(value):
                continue
            if name == "set" and not SET_SPEC_RE.match(value):
                continue
            if name == "identifier" and not _URI_RE.match(value):
                continue
            attributes[name] = value
        return attributes


def parse_request(params: dict[str, list[str]]) -> Request:
    """The request in ``params`` (every value of every name, as QueryDict.lists() gives them).

    Raises badVerb for a missing, repeated or unknown verb, and badArgument for an unknown, repeated,
    missing or empty argument, an exclusive argument that does not come alone, or a malformed date, set
    or a from/until pair that is out of order or of mixed granularity (sections 2.7.1 and 3.3.1)."""
    verbs = params.get("verb", [])
    if len(verbs) != 1:
        raise OAIError("badVerb", "The request must carry exactly one verb argument.")
    name = verbs[0]
    verb = VERBS.get(name)
    if verb is None:
        raise OAIError("badVerb", f"{name!r} is not an OAI-PMH verb; use one of {', '.join(VERBS)}.")
    arguments: dict[str, str] = {}
    allowed = verb.required | verb.optional | ({verb.exclusive} if verb.exclusive else set())
    for key, values in params.items():
        if key == "verb":
            continue
        if key not in allowed:
            raise OAIError("badArgument", f"{name} does not take the argument {key!r}.")
        if len(values) != 1:
            raise OAIError("badArgument", f"The argument {key!r} is repeated.")
        if values[0] == "":
            raise OAIError("badArgument", f"The argument {key!r} is empty.")
        arguments[key] = values[0]
    if verb.exclusive and verb.exclusive in arguments:
        if len(arguments) > 1:
            raise OAIError("badArgument", f"{verb.exclusive} is an exclusive argument: send it alone with the verb.")
        return Request(name, arguments)
    missing = sorted(verb.required - arguments.keys())
    if missing:
        raise OAIError("badArgument", f"{name} needs the argument(s) {', '.join(missing)}.")
    if "set" in arguments and not SET_SPEC_RE.match(arguments["set"]):
        raise OAIError("badArgument", f"{arguments['set']!r} is not a setSpec.")
    harvest_window(arguments.get("from"), arguments.get("until"))
    return Request(name, arguments)


def parse_datestamp(value: str) -> tuple[datetime, timedelta]:
    """A UTCdatetime argument: (its start as an aware UTC datetime, its granularity: one day or one second).

    Raises badArgument for anything but YYYY-MM-DD and YYYY-MM-DDThh:mm:ssZ, or an impossible date."""
    try:
        if _DAY_RE.match(value):
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC), timedelta(days=1)
        if _SECOND_RE.match(value):
            return datetime.strptime(value, DATESTAMP_FORMAT).replace(tzinfo=UTC), timedelta(seconds=1)
    except ValueError:
        pass
    raise OAIError("badArgument", f"{value!r} is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ssZ).")


def harvest_window(from_: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the datestamps that from/until select (both inclusive at their granularity, so
    until=2026-03-01 takes the whole day). Raises badArgument for mixed granularities or from > until."""
    start = end = None
    if from_:
        start, from_step = parse_datestamp(from_)
    if until:
        until_start, until_step = parse_datestamp(until)
        end = until_start + until_step if until_start.year < 9999 else None  # year 9999: no end
    if from_ and until:
        if from_step != until_step:
            raise OAIError("badArgument", "from and until must have the same granularity.")
        if start > until_start:
            raise OAIError("badArgument", "from is later than until.")
    return start, end


def datestamp(value: datetime) -> str:
    """A response datestamp at the repository's granularity (seconds, UTC)."""
    return value.astimezone(UTC).strftime(DATESTAMP_FORMAT)
