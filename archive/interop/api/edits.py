"""Curators' writes: a new catalogue record, or changes to one, with the curator form's rules
(archive/curation/forms.py: language codes, one text per language and at most one original, a
rightsstatements.org statement, Local Contexts labels, years in order, both coordinates or neither)
and the same events (archive.actions.create_object; a metadata-modification PREMIS event and a new
OCFL version through archive.actions.record_changed)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from archive import actions
from archive.access import curated_collections
from archive.curation.forms import LANGUAGE_CODE_RE, ObjectForm
from archive.models import Collection, HeritageObject, ObjectText
from archive.models.vocabularies import RIGHTS_STATEMENTS, LocalContextsLabel
from preservation import events

# The curator form's fields (one list for both doors), less the collection (set on creation only) and the
# staff-only home-page flag; keywords come as a list here, as a comma-separated text in the form.
DESCRIPTIVE_FIELDS = [f for f in ObjectForm.Meta.fields if f not in ("collection", "featured")] + ["keywords"]


class TextInput(serializers.Serializer):
    language = serializers.CharField(max_length=16, help_text="A language code such as en, fr, ar or fr-CA.")
    title = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_original = serializers.BooleanField(
        required=False, default=False, help_text="The language the record was written in (at most one)."
    )

    def validate_language(self, value: str) -> str:
        code = value.strip()
        if not LANGUAGE_CODE_RE.match(code):
            raise serializers.ValidationError(_("Use a language code such as en, fr, ar or fr-CA."))
        return code


class ObjectWrite(serializers.ModelSerializer):
    """The fields a curator may set. ``collection`` must be one the caller curates."""

    collection = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Collection.objects.none(),
        help_text="Slug of a collection you curate.",
        error_messages={"does_not_exist": gettext_lazy("You may not add objects to that collection.")},
    )
    texts = TextInput(many=True, help_text="Title and description per language; at least one.")
    rights_statement = serializers.ChoiceField(
        choices=RIGHTS_STATEMENTS, required=False, allow_blank=True, help_text="A rightsstatements.org URI."
    )
    labels = serializers.ListField(
        child=serializers.ChoiceField(choices=LocalContextsLabel.choices),
        required=False,
        help_text="Local Contexts TK/BC labels the community applies.",
    )
    keywords = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = HeritageObject
        fields = ["collection", "texts", *DESCRIPTIVE_FIELDS, "source_reference"]
        extra_kwargs = {
            "source_reference": {
                "help_text": "Your own reference for this record (a folder or file name, an inventory number): "
                "unique per collection, so a re-run of an ingest script finds its object instead of "
                "making a second one (409 with the existing object's id)."
            }
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "collection" in self.fields:
            self.fields["collection"].queryset = curated_collections(request.user)

    def get_validators(self) -> list:
        return []  # (collection, source_reference) is checked by the view, which answers 409 with the match

    def validate_texts(self, texts: list[dict]) -> list[dict]:
        if not texts:
            raise serializers.ValidationError(_("Give a title in at least one language."))
        languages = [text["language"] for text in texts]
        if len(languages) != len(set(languages)):
            raise serializers.ValidationError(_("Each language may appear only once."))
        if sum(1 for text in texts if text.get("is_original")) > 1:
            raise serializers.ValidationError(_("Mark only one text as the original."))
        return texts

    def validate(self, data: dict) -> dict:
        def value(name: str):
            return data[name] if name in data else getattr(self.instance, name, None)

        start, end = value("year_start"), value("year_end")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"year_end": _("The end year must not be before the start year.")})
        if (value("latitude") is None) != (value("longitude") is None):
            raise serializers.ValidationError({"longitude": _("Give both latitude and longitude, or neither.")})
        return data


class ObjectUpdate(ObjectWrite):
    """A partial change: only the fields sent change. ``texts`` are merged by language (a language sent
    replaces that language's text, others stay); remove a language on the curation pages."""

    class Meta(ObjectWrite.Meta):
        fields = ["collection", "texts", *DESCRIPTIVE_FIELDS]


def create(data: dict, user) -> HeritageObject:
    """A new draft object from validated ``ObjectWrite`` data (ACCESSION event via archive.actions)."""
    data = dict(data)
    collection = data.pop("collection")
    texts = data.pop("texts")
    original = next((text for text in texts if text.get("is_original")), texts[0])["language"]
    return actions.create_object(
        collection,
        {text["language"]: (text["title"], text.get("description", "")) for text in texts},
        original_language=original,
        user=user,
        **data,
    )


def update(obj: HeritageObject, data: dict, user) -> list[str]:
    """Apply validated ``ObjectUpdate`` data; record one metadata-modification event and package the new
    record (archive.actions.record_changed) if anything changed. Returns the names of what changed."""
    data = dict(data)
    texts = data.pop("texts", None)
    changed = [name for name, value in data.items() if getattr(obj, name) != value]
    with transaction.atomic():
        for name in changed:
            setattr(obj, name, data[name])
        if texts is not None and _merge_texts(obj, texts):
            changed.append("texts")
        if not changed:
            return []
        obj.save()  # also moves `updated`, which harvesters follow, when only a text changed
        events.record(
            events.EventType.METADATA_MODIFICATION,
            events.Outcome.SUCCESS,
            f"Catalogue record changed by {user} through the REST API: {', '.join(changed)}.",
            obj=obj,
        )
        actions.record_changed(obj)
    return changed


def _merge_texts(obj: HeritageObject, texts: list[dict]) -> bool:
    """Upsert texts by language; a text marked original takes the mark from the previous one."""
    existing = {text.language: text for text in obj.texts.all()}
    changed = False
    if any(text.get("is_original") for text in texts):
        moved = obj.texts.filter(is_original=True).exclude(
            language__in=[t["language"] for t in texts if t["is_original"]]
        )
        changed = moved.update(is_original=False) > 0
    for text in texts:
        current = existing.get(text["language"])
        wanted = {"title": text["title"], "description": text.get("description", "")}
        if text.get("is_original"):
            wanted["is_original"] = True
        if current is None:
            ObjectText.objects.create(object=obj, language=text["language"], **wanted)
            changed = True
        elif any(getattr(current, name) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(current, name, value)
            current.save()
            changed = True
    return changed
