"""Data rights in the admin: a customer's data as a page and as a JSON file, and erasure.

The customer admin of crm is extended here (crm knows nothing of privacy): two links on the
customer's page and an erase action, each behind its own permission. Every use is kept as a
DataRequest.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.models import AuditEntry
from audit.services import audit_record
from crm.access import StoreScopedMixin
from crm.admin import CustomerAdmin, ReadOnlyModelAdmin
from crm.models import Customer
from privacy.erasure import customer_erase
from privacy.export import customer_export_record, export_filename, export_json, local_time, readable_sections
from privacy.models import DataRequest

EXPORT_PERMISSION = "privacy.export_customer"
ERASE_PERMISSION = "privacy.erase_customer"


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=_("Why (kept with the record of the erasure)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
    )


admin.site.unregister(Customer)


@admin.register(Customer)
class PrivacyCustomerAdmin(CustomerAdmin):
    change_form_template = "admin/privacy/customer/change_form.html"
    actions = ["erase_customers"]
    # A file of customers is personal data leaving the system: those who may export it already.
    export_permissions = (EXPORT_PERMISSION,)

    def get_urls(self):
        return [
            path(
                "<int:pk>/personal-data/",
                self.admin_site.admin_view(self.data_view),
                name="privacy_customer_data",
            ),
            path(
                "<int:pk>/personal-data.json",
                self.admin_site.admin_view(self.data_json_view),
                name="privacy_customer_data_json",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": request.user.has_perm(EXPORT_PERMISSION)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _exported(self, request, pk: int, kind: str) -> tuple[Customer, dict]:
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        customer = get_object_or_404(self.get_queryset(request), pk=pk)
        export = customer_export_record(
            customer=customer, kind=kind, source=DataRequest.Source.ADMIN, staff=request.user
        )
        audit_record(request=request, action=AuditEntry.Action.EXPORT, obj=customer, changes={"kind": [None, kind]})
        return customer, export

    def data_view(self, request, pk: int):
        """Everything held about the customer, section by section, as staff read it."""
        customer, export = self._exported(request, pk, DataRequest.Kind.EXPORT_PAGE)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Personal data of %(customer)s") % {"customer": customer},
            "customer": customer,
            "export": export,
            "exported_at": local_time(export["exported_at"], customer.zone),
            "zone": customer.time_zone,
            "sections": readable_sections(export, customer.zone),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/privacy/customer_data.html", context)

    def data_json_view(self, request, pk: int):
        _customer, export = self._exported(request, pk, DataRequest.Kind.EXPORT_JSON)
        response = HttpResponse(export_json(export), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(export)}"'
        return response

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm(ERASE_PERMISSION)

    @admin.action(description=_("Erase personal data (anonymise)…"), permissions=["erase"])
    def erase_customers(self, request, queryset):
        """A confirmation page with the reason first; then each customer is erased in its own transaction."""
        form = ErasureForm(request.POST if request.POST.get("confirm") else None)
        customers = list(queryset.order_by("pk"))
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Erase personal data"),
                "customers": customers,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/privacy/erase_confirm.html", context)
        erased = 0
        for customer in customers:
            try:
                customer_erase(customer=customer, staff=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                self.message_user(request, f"{customer}: {' '.join(error.messages)}", messages.WARNING)
            else:
                erased += 1
                customer.refresh_from_db()  # its name in the trail is the anonymous one
                audit_record(
                    request=request,
                    action=AuditEntry.Action.ERASE,
                    obj=customer,
                    changes={"reason": [None, form.cleaned_data["reason"]]},
                )
        if erased:
            self.message_user(
                request,
                ngettext("%(count)d customer erased.", "%(count)d customers erased.", erased) % {"count": erased},
                messages.SUCCESS,
            )
        return None


@admin.register(DataRequest)
class DataRequestAdmin(StoreScopedMixin, ReadOnlyModelAdmin):
    """Every export and erasure: evidence, read-only."""

    list_display = ["created_at", "customer", "kind", "source", "staff", "reason"]
    list_filter = ["kind", "source"]
    list_select_related = ["customer", "staff"]
    show_full_result_count = False
    date_hierarchy = "created_at"
