"""The customer's timeline page in the admin (crm.timeline merges what the apps registered)."""

import datetime

from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.timeline import sources, timeline_page
from crm.zones import both_zones, moment_in

PAGE_SIZE = 50


def _cursor(raw: str) -> datetime.datetime | None:
    """The page's ``before``: an ISO 8601 instant with its offset; anything else is the first page."""
    try:
        moment = datetime.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


class CustomerTimelineMixin:
    """Adds ``<customer>/timeline/`` to the customer admin: one chronological history of the
    customer, filtered by kind (GET, works without JavaScript) and paged by time (keyset)."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/timeline/",
                self.admin_site.admin_view(self.timeline_view),
                name="crm_customer_timeline",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The customer's clock next to the staff member's, above the form.
        if obj is not None and obj.pk:
            context = {
                **context,
                "customer_clock": both_zones(timezone.now(), obj.zone),
                "customer_zone": obj.time_zone,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def timeline_view(self, request, object_id):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # Store-scoped: a store manager reaches only their own store's customers.
        customer = get_object_or_404(self.get_queryset(request), pk=object_id)
        readable = sources(request.user)
        chosen = set(request.GET.getlist("kind")) & {s.kind for s in readable}
        shown = [s for s in readable if s.kind in chosen] if chosen else readable
        page = timeline_page(customer, shown=shown, before=_cursor(request.GET.get("before", "")), limit=PAGE_SIZE)
        labels = {s.kind: s.label for s in readable}
        zone = customer.zone
        entries = [
            {
                "entry": entry,
                "label": labels.get(entry.kind, entry.kind),
                "when": both_zones(entry.at, zone),
                "moments": [(label, both_zones(moment, zone)) for label, moment in entry.moments],
            }
            for entry in page.entries
        ]
        next_query = None
        if page.next_before is not None:
            query = QueryDict(mutable=True)
            query.setlist("kind", sorted(chosen))
            query["before"] = page.next_before.isoformat()
            next_query = query.urlencode()
        first_query = QueryDict(mutable=True)
        first_query.setlist("kind", sorted(chosen))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Timeline of %(customer)s") % {"customer": customer},
            "opts": self.model._meta,
            "original": customer,
            "customer": customer,
            "sources": readable,
            "chosen": chosen,
            "entries": entries,
            "next_query": next_query,
            "first_query": first_query.urlencode(),
            "is_first_page": "before" not in request.GET,
            "customer_zone": customer.time_zone,
            "customer_now": moment_in(timezone.now(), zone),
            "staff_zone": str(timezone.get_current_timezone()),
        }
        return TemplateResponse(request, "admin/crm/customer/timeline.html", context)
