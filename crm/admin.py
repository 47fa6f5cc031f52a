from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from audit.admin import AuditedAdminMixin
from crm.access import StoreScopedMixin
from crm.admin_scale import LargeTableAdmin
from crm.admin_transfer import AuditedImportExportMixin
from crm.callback_forms import CallbackForm
from crm.models import Callback, Customer, District, Interaction, StaffProfile, Store, Tag
from crm.resources import CustomerResource, StoreResource
from crm.selectors import customer_ids_matching, customer_interactions, customer_search
from crm.services import customer_update
from crm.timeline_admin import CustomerTimelineMixin
from crm.zones import both_zones

CUSTOMER_SEARCH_HELP = _("The customer's name, e-mail, loyalty card / external id, or phone number in any format")


class CustomerSearchMixin:
    """Search a big table by its customer (crm.selectors.customer_search): exact or prefix matches
    an index serves, never a ``LIKE '%term%'`` over millions of rows.

    ``customer_field`` is the path to the customer's id; ``search_also`` may add matches of the
    table's own indexed columns (``Q`` objects), joined by OR; ``customer_matches`` may reach the
    customer through the table's own column (an account id for the ledger). A term that fits more
    than a thousand customers (a common surname) searches the newest thousand of them.
    """

    customer_field = "customer_id"
    search_help_text = CUSTOMER_SEARCH_HELP

    def customer_matches(self, term: str) -> Q:
        # Ids, not a join: an OR with the table's own columns stays an OR of index scans.
        return Q(**{f"{self.customer_field}__in": customer_ids_matching(term)})

    def search_also(self, term: str) -> Q | None:
        return None

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = self.customer_matches(term)
        also = self.search_also(term)
        return queryset.filter(matches | also if also is not None else matches), False


class ReadOnlyModelAdmin(LargeTableAdmin):
    """For records that are evidence (ledgers, consent, provider events): look, never edit.

    Evidence accumulates: these tables are the big ones, hence LargeTableAdmin.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(District)
class DistrictAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "city", "country", "parent"]
    list_filter = ["country", "city"]
    search_fields = ["name", "city"]
    autocomplete_fields = ["parent", "neighbours"]
    list_select_related = ["parent"]


@admin.register(Tag)
class TagAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Labels staff put on customers, for segments."""

    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Store)
class StoreAdmin(AuditedImportExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    resource_classes = [StoreResource]
    import_permissions = ("crm.add_store", "crm.change_store")
    export_permissions = ("crm.view_store",)
    list_display = ["code", "name", "district", "phone", "is_active"]
    list_filter = ["is_active", "district__country", "district__city"]
    search_fields = ["code", "name", "address"]
    autocomplete_fields = ["district"]
    list_select_related = ["district"]


class InteractionInline(admin.TabularInline):
    """Adds an interaction from the customer's page. The latest ones are listed above it (a customer
    may have thousands); each opens for editing, and all of them are under Interactions."""

    model = Interaction
    fields = ["occurred_at", "kind", "summary", "staff", "store"]
    autocomplete_fields = ["staff", "store"]
    extra = 1
    verbose_name_plural = _("new interaction")

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    # ``obj`` is the customer: an erased customer's history is read, never written to.
    def has_add_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_delete_permission(request, obj)


@admin.register(Customer)
class CustomerAdmin(
    CustomerTimelineMixin, AuditedImportExportMixin, AuditedAdminMixin, StoreScopedMixin, LargeTableAdmin
):
    # Import and export: crm.admin_transfer. An import reaches every store's customers (it matches
    # by e-mail and phone), so it takes seeing them all; a file of customers is personal data
    # leaving the system, which the privacy app lets out (it sets export_permissions).
    resource_classes = [CustomerResource]
    import_permissions = ("crm.add_customer", "crm.change_customer", "crm.view_all_customers")
    list_display = ["__str__", "email", "phone", "external_id", "language", "home_district", "home_store", "is_active"]
    list_filter = ["is_active", "language", "home_district__city", "home_district", "home_store"]
    # Matched by customer_search below (name, e-mail, external id, phone in any format).
    search_fields = ["first_name", "last_name", "email", "external_id"]
    search_help_text = CUSTOMER_SEARCH_HELP
    autocomplete_fields = ["home_district", "home_store", "tags"]
    list_select_related = ["home_district", "home_store"]
    customer_path = ""
    ordering = ["-id"]
    readonly_fields = ["public_id", "erased_at", "created_at", "updated_at", "latest_interactions"]
    inlines = [InteractionInline]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "external_id", "is_active"]}),
        (
            _("Profile"),
            {"fields": ["birth_date", "gender", "language", "time_zone", "home_district", "home_store", "tags"]},
        ),
        (_("Postal address"), {"fields": ["address_line", "postal_code", "city", "country"]}),
        (_("Latest interactions"), {"fields": ["latest_interactions"]}),
        (
            _("System"),
            {
                "fields": ["public_id", "token_version", "erased_at", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        # A customer is never deleted: the ledger and the consent proof keep their customer, and
        # the personal data goes by erasure (anonymisation) instead.
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.erased_at:
            return False  # an erased customer stays anonymous
        return super().has_change_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page links to "why (not)?" only for those who may open it.
        extra_context = {**(extra_context or {}), "can_see_why": request.user.has_perm("notifications.view_why")}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("latest 20"))
    def latest_interactions(self, obj):
        """A read-only table in one query: editable rows would each look up their staff member and
        store for their widgets, and a customer may have thousands."""
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:crm_interaction_change", args=[i.pk]),
                    date_format(timezone.localtime(i.occurred_at), "Y-m-d H:i T"),
                    i.get_kind_display(),
                    i.summary,
                    i.staff or "—",
                    i.store or "—",
                )
                for i in customer_interactions(obj)[:20]
            ),
        )
        all_of_them = reverse("admin:crm_interaction_changelist") + f"?customer__id__exact={obj.pk}"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("when"),
            _("kind"),
            _("summary"),
            _("by"),
            _("store"),
            rows,
            all_of_them,
            _("All interactions"),
        )

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset & customer_search(search_term), False

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, so other apps hear which fields changed (a new phone re-plans queued SMS);
        # tags are many-to-many, saved with the form's other relations (save_related).
        stored = Customer.objects.get(pk=obj.pk)
        customer_update(customer=stored, **{name: getattr(obj, name) for name in form.changed_data if name != "tags"})

    def save_formset(self, request, form, formset, change):
        # New interactions default to the staff member who typed them.
        for instance in formset.save(commit=False):
            if isinstance(instance, Interaction) and instance.staff_id is None:
                instance.staff = request.user
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(Interaction)
class InteractionAdmin(AuditedAdminMixin, StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    """Every customer's history, newest entries first; one customer's: search for them, or their page."""

    list_display = ["occurred_at", "customer", "kind", "staff", "store"]
    list_filter = ["kind"]
    search_fields = ["customer"]  # see CustomerSearchMixin
    autocomplete_fields = ["customer", "staff", "store"]
    list_select_related = ["customer", "staff", "store"]
    ordering = ["-id"]


@admin.register(Callback)
class CallbackAdmin(AuditedAdminMixin, StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    """Open calls first, by when they are due (crm_callback_due_idx serves the order, the status
    filter and the reminder job)."""

    form = CallbackForm
    list_display = ["due_at", "call_at", "customer", "subject", "assigned_to", "status"]
    readonly_fields = ["call_at"]
    list_filter = ["status", "assigned_to"]
    list_editable = ["status"]
    search_fields = ["customer", "subject", "notes"]  # see CustomerSearchMixin
    search_help_text = _("The customer's name, e-mail, card or phone, or words of the subject or notes")
    autocomplete_fields = ["customer", "assigned_to"]
    list_select_related = ["customer", "assigned_to"]
    ordering = ["-status", "due_at"]  # "open" before "done"
    # Callbacks are the calls staff agreed to make: thousands, not millions, so the days are cheap to list.
    date_hierarchy = "due_at"

    def search_also(self, term):
        return Q(subject__icontains=term) | Q(notes__icontains=term)

    @admin.display(description=_("call at (customer · you)"), ordering="due_at")
    def call_at(self, obj):
        return both_zones(obj.due_at, obj.customer.zone) if obj.pk else "—"


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    autocomplete_fields = ["store"]
    verbose_name_plural = _("store")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(AuditedAdminMixin, UserAdmin):
    """Staff accounts, with the store each works at. Only a superuser makes, sees or changes a
    superuser: an administrator holds every permission, but cannot raise anyone (themselves
    included) above it, nor take over a superuser's account.
    """

    inlines = [StaffProfileInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, "is_superuser"]

    def get_queryset(self, request):
        # A superuser's account is out of reach (password, groups, deletion) for anyone less.
        users = super().get_queryset(request)
        return users if request.user.is_superuser else users.filter(is_superuser=False)


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class GuardedPeriodicTaskAdmin(AuditedAdminMixin, PeriodicTaskAdmin):
    """The beat schedule. django-celery-beat's actions declare no permission (anyone who may look
    at the schedule could run or stop a job): here each takes the right to change it."""

    @admin.action(description=PeriodicTaskAdmin.enable_tasks.short_description, permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description=PeriodicTaskAdmin.disable_tasks.short_description, permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description=PeriodicTaskAdmin.toggle_tasks.short_description, permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description=PeriodicTaskAdmin.run_tasks.short_description, permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


# --- django-axes: failed admin logins and lockouts (AXES_ENABLE_ADMIN is off: registered here) ---


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    """Failed logins per username and address; a locked-out one is lifted by deleting it. The
    clean-up action deletes rows, so it takes the right to delete (axes declares none)."""

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


admin.site.register(AccessLog, AccessLogAdmin)
admin.site.register(AccessFailureLog, AccessFailureLogAdmin)
