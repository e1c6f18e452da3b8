"""Forms a community's curators use to run the community: members, sharing, stores, collections."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from archive.models import AccessLevel, Collection, Community, Role


class AddMemberForm(forms.Form):
    username = forms.CharField(label=_("Username or e-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)

    def clean_username(self):
        value = self.cleaned_data["username"].strip()
        users = get_user_model().objects.filter(is_active=True)
        user = users.filter(username=value).first() or users.filter(email__iexact=value).first()
        if user is None:
            raise forms.ValidationError(_("No active account with that username or e-mail."))
        return user


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ProtocolsForm(forms.ModelForm):
    """Which other communities see our community-level material, and which stores may keep it."""

    shares_with = forms.ModelMultipleChoiceField(
        queryset=Community.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Share community-level material with the members of"),
    )
    allowed_stores = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Stores that may keep our community and restricted material"),
        help_text=_("None ticked: every store configured for that access level."),
    )

    class Meta:
        model = Community
        fields = ["description", "shares_with", "allowed_stores"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"description": _("Description")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from preservation.stores.registry import all_stores, store_config

        self.fields["shares_with"].queryset = Community.objects.exclude(pk=self.instance.pk).order_by("name")
        choices = []
        for store in all_stores():
            config = store_config(store.name)
            levels = ", ".join(config["access_levels"])
            choices.append((store.name, f"{store.name} — {config['jurisdiction'] or '?'} ({levels})"))
        self.fields["allowed_stores"].choices = choices


class CollectionProtocolForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["title", "description", "default_access_level"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "title": _("Title"),
            "description": _("Description"),
            "default_access_level": _("Default access level of new objects"),
        }


class NewCollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["slug", "title", "description", "default_access_level"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "slug": _("Slug"),
            "title": _("Title"),
            "description": _("Description"),
            "default_access_level": _("Default access level"),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_access_level"].initial = AccessLevel.COMMUNITY
