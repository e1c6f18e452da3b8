from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from archive.models import (
    Asset,
    Collection,
    Community,
    HeritageObject,
    Membership,
    ObjectText,
    ObjectVersion,
    Upload,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


def _store_choices() -> list[tuple[str, str]]:
    from preservation.stores.registry import all_stores, store_config

    choices = []
    for store in all_stores():
        config = store_config(store.name)
        choices.append(
            (store.name, f"{store.name} — {config['jurisdiction'] or '?'} ({', '.join(config['access_levels'])})")
        )
    return choices


class CommunityForm(forms.ModelForm):
    """The community's choice of stores for its community and restricted material, as checkboxes."""

    allowed_stores = forms.MultipleChoiceField(
        choices=_store_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=_("Stores allowed for community and restricted material"),
        help_text=_("None ticked: every store configured for that access level. Public material is not limited."),
    )

    class Meta:
        model = Community
        fields = ["slug", "name", "description", "allowed_stores"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    form = CommunityForm
    list_display = ["name", "slug", "allowed_stores", "created"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "community", "default_access_level"]
    list_filter = ["community", "default_access_level"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]


class ObjectTextInline(admin.StackedInline):
    model = ObjectText
    extra = 1


class AssetInline(admin.TabularInline):
    model = Asset
    fk_name = "object"
    extra = 0
    can_delete = False
    fields = ["filename", "role", "status", "size", "sha256", "puid", "version"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HeritageObject)
class HeritageObjectAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["identifier", "title", "collection", "status", "access_level", "threat_level", "damaged", "created"]
    list_filter = ["damaged", "status", "access_level", "threat_type", "threat_level", "collection__community"]
    search_fields = ["identifier", "texts__title", "culture", "place_name"]
    readonly_fields = ["identifier", "created", "updated", "published_at"]
    inlines = [ObjectTextInline, AssetInline]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["filename", "object", "role", "status", "size", "puid", "created"]
    list_filter = ["role", "status", "format_key"]
    search_fields = ["id", "filename", "sha256", "object__identifier"]
    readonly_fields = [f.name for f in Asset._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deletion is deliberate: through the quarantine page or a deletion action with a reason


@admin.register(ObjectVersion)
class ObjectVersionAdmin(admin.ModelAdmin):
    list_display = ["object", "number", "created", "message"]
    readonly_fields = ["object", "number", "created", "message", "user_name"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "object", "user", "offset", "length", "completed_at"]
    readonly_fields = [f.name for f in Upload._meta.fields]
