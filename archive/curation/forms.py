"""Curator forms: an object's catalogue fields and its texts in any number of languages."""

from __future__ import annotations

import re

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from archive.models import HeritageObject, ObjectText
from archive.models.vocabularies import RIGHTS_STATEMENTS, LocalContextsLabel

LANGUAGE_CODE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ObjectForm(forms.ModelForm):
    keywords_text = forms.CharField(label=_("Keywords"), required=False, help_text=_("Separate keywords with commas."))
    rights_statement = forms.ChoiceField(
        choices=[("", "—")] + RIGHTS_STATEMENTS, required=False, label=_("Rights statement")
    )
    labels = forms.MultipleChoiceField(
        choices=LocalContextsLabel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Local Contexts labels"),
        help_text=_("The community's own statements of how this material should be used (localcontexts.org)."),
    )

    class Meta:
        model = HeritageObject
        fields = [
            "collection",
            "object_type",
            "culture",
            "period_label",
            "year_start",
            "year_end",
            "place_name",
            "latitude",
            "longitude",
            "sensitive_location",
            "threat_type",
            "threat_level",
            "rights_statement",
            "licence",
            "access_level",
            "embargo_until",
            "provenance",
            "labels",
            "featured",
        ]
        widgets = {
            "embargo_until": forms.DateInput(attrs={"type": "date"}),
            "provenance": forms.Textarea(attrs={"rows": 3}),
        }
        # The model's field names, as Django would show them, marked for translation.
        labels = {
            "collection": _("Collection"),
            "culture": _("Culture"),
            "year_start": _("Year start"),
            "year_end": _("Year end"),
            "place_name": _("Place name"),
            "latitude": _("Latitude"),
            "longitude": _("Longitude"),
            "sensitive_location": _("Sensitive location"),
            "threat_type": _("Threat type"),
            "threat_level": _("Threat level"),
            "licence": _("Licence"),
            "access_level": _("Access level"),
            "embargo_until": _("Embargo until"),
            "provenance": _("Provenance"),
            "featured": _("Featured"),
        }

    def __init__(self, *args, collections=None, can_feature: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_feature:
            del self.fields["featured"]  # the portal's home page is the whole site's choice (staff)
        if collections is not None:
            self.fields["collection"].queryset = collections
            if not self.instance.pk and len(collections) == 1:
                only = collections[0]
                self.fields["collection"].initial = only.pk
                self.fields["access_level"].initial = only.default_access_level
        if self.instance.pk:
            self.fields["keywords_text"].initial = ", ".join(self.instance.keywords)

    def clean(self):
        data = super().clean()
        start, end = data.get("year_start"), data.get("year_end")
        if start is not None and end is not None and start > end:
            self.add_error("year_end", _("The end year must not be before the start year."))
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        return data

    def save(self, commit: bool = True) -> HeritageObject:
        obj = super().save(commit=False)
        obj.keywords = [k.strip() for k in self.cleaned_data.get("keywords_text", "").split(",") if k.strip()]
        if commit:
            obj.save()
        return obj


class ObjectTextForm(forms.ModelForm):
    class Meta:
        model = ObjectText
        fields = ["language", "title", "description", "is_original"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "language": _("Language"),
            "title": _("Title"),
            "description": _("Description"),
            "is_original": _("Is original"),
        }

    def clean_language(self) -> str:
        code = self.cleaned_data["language"].strip()
        if not LANGUAGE_CODE_RE.match(code):
            raise forms.ValidationError(_("Use a language code such as en, fr, ar or fr-CA."))
        return code


class BaseTextFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        live = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not live:
            raise forms.ValidationError(_("Give a title in at least one language."))
        languages = [f.cleaned_data["language"] for f in live]
        if len(languages) != len(set(languages)):
            raise forms.ValidationError(_("Each language may appear only once."))
        originals = [f for f in live if f.cleaned_data.get("is_original")]
        if len(originals) > 1:
            raise forms.ValidationError(_("Mark only one text as the original."))
        if not originals:
            live[0].instance.is_original = True


TextFormSet = inlineformset_factory(
    HeritageObject, ObjectText, form=ObjectTextForm, formset=BaseTextFormSet, extra=2, can_delete=True
)


class DiscardForm(forms.Form):
    reason = forms.CharField(
        label=_("Why delete this file?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class ShareLinkForm(forms.Form):
    """A time-limited link to one object for one named researcher (archive/sharing.py)."""

    researcher_name = forms.CharField(label=_("Researcher"), max_length=200)
    researcher_email = forms.EmailField(label=_("Researcher's e-mail"), required=False)
    purpose = forms.CharField(
        label=_("Purpose"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    days = forms.IntegerField(label=_("Days valid"), initial=14, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        from django.conf import settings
        from django.core.validators import MaxValueValidator

        super().__init__(*args, **kwargs)
        limit = int(getattr(settings, "ARCHIVE_SHARE_MAX_DAYS", 90))
        self.fields["days"].max_value = limit
        self.fields["days"].validators.append(MaxValueValidator(limit))
        self.fields["days"].widget.attrs["max"] = limit
        self.fields["days"].help_text = _("At most %(days)d days.") % {"days": limit}
