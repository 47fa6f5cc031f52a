"""The audit trail in the admin: read-only, and the mixin that writes it for a ModelAdmin's saves."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry
from audit.services import audit_record, audit_record_many, form_changes, instance_values


class AuditedAdminMixin:
    """Keeps an audit entry of every add, change and delete staff make through this ModelAdmin
    (its inlines and list-editable rows included), with the values before and after.

    Only the admin's own hooks: saves made by the system (the POS, tasks, public pages) write none.
    """

    def construct_change_message(self, request, form, formsets, add=False):
        # Django calls this once a page's (or a list-editable row's) form and formsets are saved,
        # whatever save_model does (several go through a service instead): the one sure place.
        obj = form.instance
        if add:
            audit_record(request=request, action=AuditEntry.Action.ADD, obj=obj, changes=instance_values(obj))
        elif changes := form_changes(form):
            audit_record(request=request, action=AuditEntry.Action.CHANGE, obj=obj, changes=changes)
        for formset in formsets or []:
            self._formset_audit(request, formset)
        return super().construct_change_message(request, form, formsets, add)

    def delete_model(self, request, obj):
        object_id, object_repr = str(obj.pk), str(obj)
        super().delete_model(request, obj)
        audit_record(
            request=request,
            action=AuditEntry.Action.DELETE,
            object_type=obj._meta.label_lower,
            object_id=object_id,
            object_repr=object_repr,
        )

    def delete_queryset(self, request, queryset):
        deleted = list(queryset)
        super().delete_queryset(request, queryset)
        audit_record_many(request=request, action=AuditEntry.Action.DELETE, objects=deleted)

    def _formset_audit(self, request, formset):
        forms = {id(f.instance): f for f in formset.forms}
        for obj in getattr(formset, "new_objects", []):
            audit_record(request=request, action=AuditEntry.Action.ADD, obj=obj, changes=instance_values(obj))
        for obj, _fields in getattr(formset, "changed_objects", []):
            changes = form_changes(forms[id(obj)]) if id(obj) in forms else {}
            audit_record(request=request, action=AuditEntry.Action.CHANGE, obj=obj, changes=changes)
        for obj in getattr(formset, "deleted_objects", []):
            audit_record(request=request, action=AuditEntry.Action.DELETE, obj=obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Staff actions, newest first: evidence, to read only."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "object_repr", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["=object_id", "=actor_username"]
    search_help_text = _("An object's id, or a staff member's username (exactly)")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False
    ordering = ["-at", "-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
