"""Import and export in the admin (django-import-export), behind permissions and kept in the audit trail.

A ModelAdmin gets ``AuditedImportMixin`` (files in) or ``AuditedImportExportMixin`` (and out) and
names the permissions each needs (all of them): nobody imports or exports by default. An import
first shows a dry run, line by line, with each line's errors beside its cells; only a file without
errors can be confirmed, and the confirmed run is all or nothing (if anything changed in between
and a line now fails, nothing is imported and the errors are shown). What an import added and
changed, and every export (how many rows, which filters), goes to the audit trail.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from import_export.admin import ExportMixin, ImportMixin
from import_export.formats.base_formats import CSV
from import_export.results import RowResult

from audit.models import AuditEntry
from audit.services import NOT_RECORDED, audit_record, audit_record_each, plain


def _field_changes(before: Model, after: Model) -> dict[str, list]:
    return {
        field.name: [plain(field.value_from_object(before)), plain(field.value_from_object(after))]
        for field in after._meta.concrete_fields
        if field.name not in NOT_RECORDED and field.value_from_object(before) != field.value_from_object(after)
    }


class AuditedImportMixin(ImportMixin):
    import_permissions: tuple[str, ...] = ()
    # CSV only: what the shops' systems write, and readable without extra libraries.
    import_formats = [CSV]
    import_error_display = ("message", "row")
    import_template_name = "admin/transfer/import.html"

    def has_import_permission(self, request):
        return bool(self.import_permissions) and request.user.has_perms(self.import_permissions)

    def process_import(self, request, **kwargs):
        # Refused before the method is looked at: a GET without the right is 403, not 405.
        if not self.has_import_permission(request):
            raise PermissionDenied
        return super().process_import(request, **kwargs)

    def process_dataset(self, dataset, form, request, **kwargs):
        return super().process_dataset(dataset, form, request, rollback_on_validation_errors=True, **kwargs)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Import"),
                "opts": self.model._meta,
                "result": result,
                "import_error_display": self.import_error_display,
                "form": self.create_import_form(request),
            }
            messages.error(request, _("Nothing was imported: some lines failed, see below."))
            return TemplateResponse(request, [self.import_template_name], context)
        added, changed = [], []
        for row in result.rows:
            if row.instance is None or row.instance.pk is None:
                continue
            if row.import_type == RowResult.IMPORT_TYPE_NEW:
                added.append((row.instance, {"imported": [None, True]}))
            elif row.import_type == RowResult.IMPORT_TYPE_UPDATE and row.original is not None:
                changed.append((row.instance, _field_changes(row.original, row.instance)))
        audit_record_each(request=request, action=AuditEntry.Action.ADD, items=added)
        audit_record_each(request=request, action=AuditEntry.Action.CHANGE, items=changed)
        return super().process_result(result, request)


class AuditedImportExportMixin(AuditedImportMixin, ExportMixin):
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    export_permissions: tuple[str, ...] = ()
    export_formats = [CSV]

    def has_export_permission(self, request):
        return (
            bool(self.export_permissions)
            and self.has_view_or_change_permission(request)
            and request.user.has_perms(self.export_permissions)
        )

    def get_data_for_export(self, request, queryset, **kwargs):
        """The rows to export (the changelist's, with its filters and the user's store scope), audited."""
        data = super().get_data_for_export(request, queryset, **kwargs)
        count = len(data)
        opts = self.model._meta
        audit_record(
            request=request,
            action=AuditEntry.Action.EXPORT,
            object_type=opts.label_lower,
            # "customers: 1" reads right in every language; "1 customers" would need the noun's plural forms.
            object_repr=_("%(names)s: %(count)d") % {"count": count, "names": opts.verbose_name_plural},
            changes={"count": [None, count], "filters": [None, request.GET.urlencode()], "format": [None, "csv"]},
        )
        return data
