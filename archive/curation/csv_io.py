"""CSV metadata import and export: curators edit many catalogue records in a spreadsheet and bring them back.

The format (one header row, then one object per row; UTF-8, a byte order mark is accepted and written;
comma-separated, RFC 4180 quoting, so cells may hold commas, quotes and line breaks):

``identifier``
    The object's identifier. Empty for a new object.
``reference``
    The curator's own stable reference, stored in ``source_reference`` (bulk ingest stores the folder or
    file name there). A row without an identifier whose reference already exists in its collection updates
    that object instead of creating another, so importing the same new rows twice creates them once. An
    empty cell keeps the object's reference; a reference is unique within a collection.
``collection``
    The collection's slug; it must be one the importing user curates. Empty: the object's collection, or for
    a new object the default collection chosen for the import. A different collection moves the object.
``title:<lang>``, ``description:<lang>``
    One pair per language (``title:fr``, ``description:fr``, ``title:ar``, ...), codes such as en, fr, ar or
    fr-CA. A language whose columns are absent is left as it is; empty title and description in present
    columns remove that language's text. A description needs a title; every object keeps at least one title.
``original_language``
    The language the record was written in (one of the row's titles). Empty: unchanged, or the first title.
``object_type``, ``culture``, ``period_label``, ``place_name``, ``licence``, ``provenance``
    Free text.
``year_start``, ``year_end``
    Whole years, negative for BCE; the end may not be before the start.
``latitude``, ``longitude``
    Decimal degrees, both or neither.
``sensitive_location``
    ``true`` or ``false`` (also yes/no, 1/0).
``threat_type``
    none, conflict, looting, climate, disaster, neglect or development.
``threat_level``
    0 (none) to 4 (critical).
``rights_statement``
    A rightsstatements.org URI, e.g. ``http://rightsstatements.org/vocab/InC/1.0/``.
``access_level``
    public, community or restricted.
``embargo_until``
    A date, ``YYYY-MM-DD``.
``keywords``
    Keywords separated by ``;``.
``labels``
    Local Contexts labels separated by ``;`` (``tk-attribution; bc-provenance``).
``status``
    Exported, read-only: ignored on import (publication goes through review).

Only the columns present are imported: a file with just ``identifier`` and ``culture`` changes cultures.
An empty cell clears its field, except ``access_level``, ``threat_type``, ``threat_level`` and
``sensitive_location``, where an empty cell keeps the current value (a new object gets the collection's
access level, no threat, not sensitive): a blank never opens access or exposes a site by accident.

Import validates each row completely with the same rules as the edit form (``ObjectForm`` and
``ObjectTextForm``) before writing anything, then saves it in its own transaction; bad rows are reported
with their line number as a spreadsheet shows it (the header is line 1), the column and the message, and
the good rows are kept. A row that changes nothing writes nothing (no event, no new OCFL version); a changed
object gets one metadata modification event naming the changed columns and a new version once packaged. The
file is refused as a whole when it is larger than ``ARCHIVE_CSV_MAX_BYTES``, has more than 50,000 rows, is
not UTF-8 or has unknown, duplicate or unpaired columns (reported on line 1).

Export writes the same columns (languages: the union of those used, sorted), rows ordered by identifier,
so importing an export changes nothing. Cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, unless they are plain numbers such as ``-883``) are
prefixed with ``'``; import removes that prefix again.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from archive import actions
from archive.access import curated_collections, visible_to
from archive.curation.forms import LANGUAGE_CODE_RE, ObjectForm, ObjectTextForm
from archive.identifiers import normalize_identifier
from archive.models import Collection, HeritageObject, LocalContextsLabel, ObjectText, Status, ThreatType
from preservation import events

MAX_ROWS = 50_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
BOM = "\ufeff"

IDENTITY_COLUMNS = ["identifier", "reference", "collection"]
# The ObjectForm fields a CSV row carries (the form validates them exactly as on the edit page); labels get
# their own column, featuring stays a staff decision on the edit page.
FORM_FIELDS = [name for name in ObjectForm.Meta.fields if name not in ("collection", "labels", "featured")]
FIELD_COLUMNS = [
    "original_language",
    *FORM_FIELDS[:-1],
    "keywords",
    "labels",
    "provenance",
]
READ_ONLY_COLUMNS = ["status"]
KNOWN_COLUMNS = set(IDENTITY_COLUMNS) | set(FIELD_COLUMNS) | set(READ_ONLY_COLUMNS)
# An empty cell keeps the current value of these (never loosens access or exposes a site by accident).
KEEP_WHEN_EMPTY = {"sensitive_location", "threat_type", "threat_level", "access_level"}
TEXT_KINDS = ("title", "description")

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


# --- cells -----------------------------------------------------------------------------------------


def neutralize(text: str) -> str:
    """A cell a spreadsheet will not run as a formula: ``'`` before a leading ``= + - @``, tab or CR,
    unless the text is a plain number (``-883`` stays a number). A text that already starts with ``'``
    before such a character gets one more, so :func:`unneutralize` gives back exactly the original."""
    if not text:
        return text
    if text[0] in FORMULA_TRIGGERS and not PLAIN_NUMBER_RE.match(text):
        return "'" + text
    if text[0] == "'" and text.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def unneutralize(text: str) -> str:
    """The cell as it was before :func:`neutralize`."""
    if text.startswith("'") and text.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


# --- export ----------------------------------------------------------------------------------------


def export_columns(languages: Iterable[str]) -> list[str]:
    columns = list(IDENTITY_COLUMNS)
    for language in languages:
        columns += [f"title:{language}", f"description:{language}"]
    return columns + FIELD_COLUMNS + READ_ONLY_COLUMNS


def languages_of(objects) -> list[str]:
    """Every language the given objects have a text in, sorted."""
    codes = ObjectText.objects.filter(object__in=objects).order_by().values_list("language", flat=True)
    return sorted(set(codes))


def _export_row(obj: HeritageObject, languages: list[str]) -> list[str]:
    texts = {text.language: text for text in obj.texts.all()}
    original = next((text.language for text in texts.values() if text.is_original), "")
    row = [obj.identifier, obj.source_reference, obj.collection.slug]
    for language in languages:
        text = texts.get(language)
        row += [text.title, text.description] if text else ["", ""]
    values = {"original_language": original, "keywords": obj.keywords or [], "labels": obj.labels or []}
    row += [values[name] if name in values else getattr(obj, name) for name in FIELD_COLUMNS]
    row.append(obj.status)
    return [neutralize(_cell(value)) for value in row]


class _Echo:
    """A file-like whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def iter_csv(objects, *, bom: bool = True, on_row: Callable[[], None] | None = None) -> Iterator[str]:
    """The CSV of ``objects`` line by line (for a streaming download or a file): the header, then one row
    per object ordered by identifier. The caller decides what the user may export (``visible_to(user)``
    within the collections they curate)."""
    languages = languages_of(objects)
    writer = csv.writer(_Echo())
    header = writer.writerow(export_columns(languages))
    yield (BOM + header) if bom else header
    rows = objects.select_related("collection").prefetch_related("texts").order_by("identifier")
    for obj in rows.iterator(chunk_size=500):
        yield writer.writerow(_export_row(obj, languages))
        if on_row:
            on_row()


def export_csv(objects, *, bom: bool = True) -> str:
    """The whole CSV of ``objects`` as one string (see :func:`iter_csv`)."""
    return "".join(iter_csv(objects, bom=bom))


# --- import: report --------------------------------------------------------------------------------


class RowError(NamedTuple):
    """One problem: the line as a spreadsheet numbers it (header = 1; None for the file as a whole), the
    column ("" for the whole row) and a message for the curator."""

    line: int | None
    column: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    refused: bool = False  # the file as a whole was refused: nothing was read past the problem
    errors: list[RowError] = field(default_factory=list)
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (line, identifier, "created"/"updated")

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, line: int | None, column: str, message: str) -> ImportReport:
        self.refused = True
        self.errors.append(RowError(line, column, message))
        return self


# --- import: reading the file ----------------------------------------------------------------------


def max_bytes() -> int:
    return int(getattr(settings, "ARCHIVE_CSV_MAX_BYTES", DEFAULT_MAX_BYTES))


def _read(file, limit: int) -> tuple[str | None, RowError | None]:
    """The file's text, or why it cannot be read. ``file``: bytes, str, or a (binary) file-like object."""
    too_big = RowError(
        None,
        "",
        _("The file is larger than %(limit)s bytes; split it into smaller files.") % {"limit": f"{limit:,}"},
    )
    if getattr(file, "size", None) is not None and file.size > limit:
        return None, too_big
    data = file if isinstance(file, bytes | str) else file.read(limit + 1)
    if isinstance(data, str):
        if len(data.encode("utf-8", "surrogatepass")) > limit:
            return None, too_big
        return data.removeprefix(BOM), None
    if len(data) > limit:
        return None, too_big
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = _(
            "The file is not UTF-8 text: byte 0x%(byte)02X on line %(line)s cannot be read. "
            "Save it as “CSV UTF-8” and import it again."
        ) % {"byte": data[error.start], "line": line}
        return None, RowError(line, "", message)


@dataclass
class _Header:
    columns: list[str | None]  # the normalized name of each position; None: an empty column to ignore
    languages: list[str]

    @property
    def present(self) -> set[str]:
        return {name for name in self.columns if name}


def _parse_header(cells: list[str], rows: list[list[str]]) -> tuple[_Header, list[RowError]]:
    errors: list[RowError] = []
    columns: list[str | None] = []
    languages: list[str] = []
    if len(cells) == 1 and ";" in cells[0]:
        return _Header([], []), [
            RowError(1, "", _("The columns are separated by semicolons: save the file comma-separated (CSV UTF-8)."))
        ]
    for position, raw in enumerate(cells, start=1):
        name = raw.strip()
        if not name:
            if any(position <= len(row) and row[position - 1].strip() for row in rows):
                errors.append(RowError(1, f"#{position}", _("Column %(n)s has values but no name.") % {"n": position}))
            columns.append(None)
            continue
        kind, colon, language = name.partition(":")
        kind = kind.strip().lower()
        if colon:
            primary, dash, rest = language.strip().partition("-")
            language = primary.lower() + dash + rest
            if kind not in TEXT_KINDS:
                errors.append(RowError(1, name, _("Unknown column “%(name)s”.") % {"name": name}))
                columns.append(None)
                continue
            if not LANGUAGE_CODE_RE.match(language):
                errors.append(
                    RowError(
                        1,
                        name,
                        _("Use a language code such as en, fr, ar or fr-CA after “%(kind)s:”.") % {"kind": kind},
                    )
                )
                columns.append(None)
                continue
            key = f"{kind}:{language}"
            if language not in languages:
                languages.append(language)
        else:
            key = kind
            if key not in KNOWN_COLUMNS:
                errors.append(RowError(1, name, _("Unknown column “%(name)s”.") % {"name": name}))
                columns.append(None)
                continue
        if key in columns:
            errors.append(RowError(1, name, _("The column “%(name)s” appears twice.") % {"name": key}))
        columns.append(key)
    for language in languages:
        for kind in TEXT_KINDS:
            if f"{kind}:{language}" not in columns:
                errors.append(
                    RowError(
                        1,
                        f"{kind}:{language}",
                        _("Add the column %(missing)s: titles and descriptions come in pairs.")
                        % {"missing": f"{kind}:{language}"},
                    )
                )
    return _Header(columns, languages), errors


# --- import: one row -------------------------------------------------------------------------------


@dataclass
class _Context:
    user: object
    dry_run: bool
    header: _Header
    curated: object  # QuerySet[Collection]
    by_slug: dict[str, Collection]
    default_collection: Collection | None
    seen: dict[tuple, int] = field(default_factory=dict)

    def editable(self):
        """The objects this user may change: visible to them, in a collection they curate."""
        return visible_to(self.user).filter(collection__in=self.curated)


class _RowErrors:
    """A row's problems, one per column (the first found, which is the most specific)."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.by_column: dict[str, str] = {}

    def add(self, column: str, message: str) -> None:
        self.by_column.setdefault(column, message)

    def __bool__(self) -> bool:
        return bool(self.by_column)

    def as_list(self) -> list[RowError]:
        return [RowError(self.line, column, message) for column, message in self.by_column.items()]


def _choice_message(name: str, value: str) -> str:
    if name == "access_level":
        return _("Unknown access level “%(value)s”: use public, community or restricted.") % {"value": value}
    if name == "threat_type":
        return _("Unknown threat type “%(value)s”: use %(choices)s.") % {
            "value": value,
            "choices": ", ".join(ThreatType.values),
        }
    if name == "threat_level":
        return _("Unknown threat level “%(value)s”: use 0 (none) to 4 (critical).") % {"value": value}
    if name == "rights_statement":
        return _(
            "Unknown rights statement “%(value)s”: use a rightsstatements.org URI such as "
            "http://rightsstatements.org/vocab/InC/1.0/."
        ) % {"value": value}
    return _("Unknown value “%(value)s”.") % {"value": value}


def _find_object(ctx: _Context, cells: dict[str, str], errors: _RowErrors) -> tuple[HeritageObject | None, object]:
    """The object a row is about (None: a new one) and its target collection, or errors."""
    slug = cells.get("collection", "")
    collection = None
    if slug:
        collection = ctx.by_slug.get(slug)
        if collection is None:
            errors.add("collection", _("No collection “%(slug)s” that you curate.") % {"slug": slug})
            return None, None
    identifier = cells.get("identifier", "")
    reference = cells.get("reference", "")
    obj = None
    if identifier:
        normalized = normalize_identifier(identifier)
        if normalized is None:
            errors.add("identifier", _("“%(id)s” is not an object identifier.") % {"id": identifier})
            return None, None
        obj = ctx.editable().select_for_update(of=("self",)).filter(identifier=normalized).first()
        if obj is None:
            errors.add("identifier", _("No object %(id)s in a collection you curate.") % {"id": normalized})
            return None, None
    target = collection or (obj.collection if obj else ctx.default_collection)
    if target is None:
        errors.add("collection", _("Give the collection of a new object."))
        return None, None
    if obj is None and reference:
        obj = ctx.editable().select_for_update(of=("self",)).filter(collection=target, source_reference=reference)
        obj = obj.first()
    if obj is not None and obj.status == Status.DELETED:
        errors.add("identifier", _("Object %(id)s is deleted; it cannot be changed.") % {"id": obj.identifier})
        return None, None
    keys = []
    if obj is not None:
        keys.append(("object", obj.pk))
    if reference:
        keys.append(("reference", target.pk, reference))
    for key in keys:
        if key in ctx.seen:
            errors.add(
                "identifier" if key[0] == "object" else "reference",
                _("The same object as line %(line)s.") % {"line": ctx.seen[key]},
            )
            return None, None
    for key in keys:
        ctx.seen[key] = errors.line
    return obj, target


def _initial_data(obj: HeritageObject | None, collection: Collection) -> dict:
    if obj is not None:
        return {name: getattr(obj, name) for name in FORM_FIELDS}
    data = {name: "" for name in FORM_FIELDS}
    data.update(
        threat_type=ThreatType.NONE,
        threat_level=0,
        access_level=collection.default_access_level,
        sensitive_location=False,
    )
    return data


def _form_data(ctx: _Context, obj, collection, cells: dict[str, str], errors: _RowErrors) -> dict:
    data = _initial_data(obj, collection)
    for name in FORM_FIELDS:
        if name not in cells:
            continue
        value = cells[name]
        if value == "" and name in KEEP_WHEN_EMPTY:
            continue
        if name == "sensitive_location":
            if value.lower() not in TRUE_WORDS | FALSE_WORDS:
                errors.add(name, _("Use true or false."))
                continue
            value = value.lower() in TRUE_WORDS
        if name == "embargo_until" and value and not DATE_RE.match(value):
            errors.add(name, _("Use a date written YYYY-MM-DD."))
            continue
        data[name] = value
    data = {name: ("" if value is None else value) for name, value in data.items()}
    data["collection"] = collection.pk
    return data


def _texts(
    ctx: _Context, existing: dict[str, ObjectText], cells: dict[str, str], errors: _RowErrors
) -> tuple[dict[str, tuple[str, str]], str]:
    """The texts the object will have ({language: (title, description)}) and its original language."""
    current = next((text.language for text in existing.values() if text.is_original), "")
    final = {language: (text.title, text.description) for language, text in existing.items()}
    for language in ctx.header.languages:
        title, description = cells.get(f"title:{language}", ""), cells.get(f"description:{language}", "")
        if not title and not description:
            final.pop(language, None)
            continue
        if not title:
            errors.add(f"title:{language}", _("A description needs a title in the same language."))
            continue
        form = ObjectTextForm({"language": language, "title": title, "description": description})
        if not form.is_valid():
            for name, messages in form.errors.items():
                column = f"{name}:{language}" if name in TEXT_KINDS else f"title:{language}"
                errors.add(column, " ".join(messages))
            continue
        final[language] = (form.cleaned_data["title"], form.cleaned_data["description"])
    if not final:
        column = f"title:{ctx.header.languages[0]}" if ctx.header.languages else "title"
        errors.add(column, _("Give a title in at least one language."))
        return final, ""
    primary, dash, rest = cells.get("original_language", "").partition("-")
    wanted = primary.lower() + dash + rest
    if wanted:
        if wanted not in final:
            errors.add(
                "original_language",
                _("There is no title in “%(language)s”: the original language needs one.") % {"language": wanted},
            )
        return final, wanted
    if current in final:
        return final, current
    order = [language for language in ctx.header.languages if language in final] + list(final)
    return final, order[0]


def _import_row(ctx: _Context, line: int, cells: dict[str, str], report: ImportReport) -> None:
    errors = _RowErrors(line)
    for column, value in cells.items():
        if "\x00" in value:
            errors.add(column, _("Null characters are not allowed."))
    if not errors:
        obj, collection = _find_object(ctx, cells, errors)
    if errors:
        report.failed += 1
        report.errors += errors.as_list()
        return

    reference = cells.get("reference", "")
    if len(reference) > 500:
        errors.add("reference", _("A reference has at most 500 characters."))
    elif reference and (obj is None or reference != obj.source_reference or collection.pk != obj.collection_id):
        clash = HeritageObject.objects.filter(collection=collection, source_reference=reference)
        if obj is not None:
            clash = clash.exclude(pk=obj.pk)
        if clash.exists():
            errors.add("reference", _("Another object of this collection has this reference."))

    before = {name: getattr(obj, name) for name in FORM_FIELDS} if obj is not None else {}
    before_collection = obj.collection_id if obj is not None else None
    before_keywords = list(obj.keywords or []) if obj is not None else []
    before_labels = list(obj.labels or []) if obj is not None else []

    keywords = _split_list(cells["keywords"]) if "keywords" in cells else before_keywords
    labels = before_labels
    if "labels" in cells:
        labels = [label.lower() for label in _split_list(cells["labels"])]
        unknown = [label for label in labels if label not in LocalContextsLabel.values]
        if unknown:
            errors.add(
                "labels",
                _("Unknown Local Contexts label(s) %(labels)s: use values such as tk-attribution or bc-provenance.")
                % {"labels": ", ".join(unknown)},
            )

    data = _form_data(ctx, obj, collection, cells, errors)
    if "labels" in ObjectForm.base_fields:  # the edit form checks labels too: give it the known ones
        data["labels"] = [label for label in labels if label in LocalContextsLabel.values]
    form = ObjectForm(data, instance=obj if obj is not None else HeritageObject(), collections=ctx.curated)
    current_rights = obj.rights_statement if obj is not None else ""
    choices = form.fields["rights_statement"].choices
    if current_rights and current_rights not in {value for value, _label in choices}:
        form.fields["rights_statement"].choices = [*choices, (current_rights, current_rights)]
    if not form.is_valid():
        for name, problems in form.errors.as_data().items():
            column = "" if name == "__all__" else name
            for problem in problems:
                if problem.code == "invalid_choice":
                    errors.add(column, _choice_message(name, str(form.data.get(name, ""))))
                else:
                    errors.add(column, " ".join(problem.messages))
    existing = {text.language: text for text in obj.texts.all()} if obj is not None else {}
    texts, original = _texts(ctx, existing, cells, errors)

    if errors:
        report.failed += 1
        report.errors += errors.as_list()
        return

    if obj is None:
        report.created += 1
        if ctx.dry_run:
            report.changes.append((line, "", "created"))
            return
        fields = {name: getattr(form.instance, name) for name in FORM_FIELDS}
        ordered = {original: texts[original]} | texts
        created = actions.create_object(
            collection,
            ordered,
            original_language=original,
            user=ctx.user,
            keywords=keywords,
            labels=labels,
            source_reference=reference,
            **fields,
        )
        report.changes.append((line, created.identifier, "created"))
        return

    changed = [name for name in FORM_FIELDS if before[name] != getattr(obj, name)]
    if before_collection != obj.collection_id:
        changed.append("collection")
    if keywords != before_keywords:
        changed.append("keywords")
    if labels != before_labels:
        changed.append("labels")
    if reference and reference != obj.source_reference:
        changed.append("reference")
    current_original = next((text.language for text in existing.values() if text.is_original), "")
    text_changes = []
    for language in sorted(set(existing) | set(texts)):
        old = (existing[language].title, existing[language].description) if language in existing else None
        new = texts.get(language)
        if old is None or new is None or old[0] != new[0]:
            text_changes.append(f"title:{language}")
        if old is None or new is None or old[1] != new[1]:
            text_changes.append(f"description:{language}")
    if original != current_original:
        text_changes.append("original_language")
    if not changed and not text_changes:
        report.unchanged += 1
        return
    report.updated += 1
    report.changes.append((line, obj.identifier, "updated"))
    if ctx.dry_run:
        return

    obj.keywords, obj.labels = keywords, labels
    if reference:
        obj.source_reference = reference
    model_fields = [{"reference": "source_reference"}.get(name, name) for name in changed]
    obj.save(update_fields=[*model_fields, "updated"])
    if text_changes:
        _save_texts(obj, existing, texts, original, current_original)
    events.record(
        events.EventType.METADATA_MODIFICATION,
        events.Outcome.SUCCESS,
        f"Catalogue record changed by {ctx.user} through a CSV import (line {line}): "
        f"{', '.join(changed + text_changes)}.",
        obj=obj,
    )
    actions.record_changed(obj)


def _save_texts(obj, existing: dict, texts: dict, original: str, current_original: str) -> None:
    for language, text in existing.items():
        if language not in texts:
            text.delete()
    if original != current_original:
        obj.texts.filter(is_original=True).update(is_original=False)
    for language, (title, description) in texts.items():
        is_original = language == original
        text = existing.get(language)
        if text is None:
            ObjectText.objects.create(
                object=obj, language=language, title=title, description=description, is_original=is_original
            )
        elif (text.title, text.description) != (title, description) or (original != current_original and is_original):
            text.title, text.description, text.is_original = title, description, is_original
            text.save()


# --- import: the file ------------------------------------------------------------------------------


def _resolve_default(default_collection, curated) -> Collection | None | str:
    if default_collection is None or default_collection == "":
        return None
    slug = default_collection if isinstance(default_collection, str) else default_collection.slug
    found = curated.filter(slug=slug).first()
    return found if found is not None else slug


def import_csv(
    file,
    *,
    user,
    default_collection: Collection | str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import catalogue records from a CSV (bytes, text, or a binary file-like such as an upload).

    ``user`` decides which collections and objects may be touched (those they curate); rows without a
    collection go to ``default_collection`` (a Collection or slug). ``dry_run`` validates everything and
    counts what would change, writing nothing. ``progress(done, total)`` is called after each row.
    """
    report = ImportReport(dry_run=dry_run)
    limit = max_bytes()
    text, problem = _read(file, limit)
    if problem is not None:
        report.refused = True
        report.errors.append(problem)
        return report
    if not text.strip():
        return report.refuse(None, "", _("The file is empty."))

    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                return report.refuse(
                    None,
                    "",
                    _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{MAX_ROWS:,}"},
                )
    except csv.Error as error:
        return report.refuse(len(rows) + 1, "", _("This line is not valid CSV (%(error)s).") % {"error": error})

    header, header_errors = _parse_header(rows[0], rows[1:])
    if header_errors:
        report.refused = True
        report.errors += header_errors
        return report

    curated = curated_collections(user)
    default = _resolve_default(default_collection, curated)
    if isinstance(default, str):
        return report.refuse(None, "collection", _("No collection “%(slug)s” that you curate.") % {"slug": default})
    ctx = _Context(
        user=user,
        dry_run=dry_run,
        header=header,
        curated=curated,
        by_slug={collection.slug: collection for collection in curated},
        default_collection=default,
    )
    width = len(header.columns)
    total = len(rows) - 1
    for index, row in enumerate(rows[1:], start=1):
        line = index + 1
        if any(cell.strip() for cell in row):
            report.rows += 1
            if any(cell.strip() for cell in row[width:]):
                report.failed += 1
                report.errors.append(RowError(line, "", _("This row has more cells than the header has columns.")))
            else:
                cells = {
                    name: unneutralize(row[position]).strip() if position < len(row) else ""
                    for position, name in enumerate(header.columns)
                    if name and name not in READ_ONLY_COLUMNS
                }
                _import_one(ctx, line, cells, report)
        if progress:
            progress(index, total)
    return report


def _import_one(ctx: _Context, line: int, cells: dict[str, str], report: ImportReport) -> None:
    """One row in its own transaction: all of it is saved, or none of it."""
    counts = (report.created, report.updated, report.unchanged, report.failed, len(report.errors))
    try:
        with transaction.atomic():
            _import_row(ctx, line, cells, report)
    except DatabaseError as error:  # a concurrent change (e.g. the same reference), or a value the database refuses
        report.created, report.updated, report.unchanged, report.failed = counts[:4]
        del report.errors[counts[4] :]
        report.changes = [change for change in report.changes if change[0] != line]
        report.failed += 1
        report.errors.append(RowError(line, "", _("Not saved: %(error)s") % {"error": error}))
