from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.models import Callback, Customer, District, Interaction, Segment, Store
from crm.segments import segment_customers, validate_rules
from crm.selectors import customer_search
from crm.services import customer_update


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For records that are evidence (ledgers, consent, provider events): look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "parent"]
    list_filter = ["country", "city"]
    search_fields = ["name", "city"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "district", "phone", "is_active"]
    list_filter = ["is_active", "district__country", "district__city"]
    search_fields = ["code", "name", "address"]
    autocomplete_fields = ["district"]
    list_select_related = ["district"]


class InteractionInline(admin.TabularInline):
    model = Interaction
    fields = ["occurred_at", "kind", "summary", "staff", "store"]
    autocomplete_fields = ["staff", "store"]
    extra = 1
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("staff", "store")

    # ``obj`` is the customer: an erased customer's history is read, never written to.
    def has_add_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.erased_at) and super().has_delete_permission(request, obj)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "external_id", "language", "home_district", "home_store", "is_active"]
    list_filter = ["is_active", "language", "home_district__city", "home_district", "home_store"]
    # Matched by customer_search below (name, e-mail, external id, phone in any format).
    search_fields = ["first_name", "last_name", "email", "external_id"]
    search_help_text = _("Name, e-mail, loyalty card / external id, or a phone number in any format")
    autocomplete_fields = ["home_district", "home_store"]
    list_select_related = ["home_district", "home_store"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]
    readonly_fields = ["public_id", "erased_at", "created_at", "updated_at"]
    inlines = [InteractionInline]
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "external_id", "is_active"]}),
        (_("Profile"), {"fields": ["birth_date", "gender", "language", "time_zone", "home_district", "home_store"]}),
        (_("Postal address"), {"fields": ["address_line", "postal_code", "city", "country"]}),
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

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset & customer_search(search_term), False

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, so other apps hear which fields changed (a new phone re-plans queued SMS).
        stored = Customer.objects.get(pk=obj.pk)
        customer_update(customer=stored, **{name: getattr(obj, name) for name in form.changed_data})

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
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "kind", "staff", "store"]
    list_filter = ["kind"]
    search_fields = ["summary"]
    autocomplete_fields = ["customer", "staff", "store"]
    list_select_related = ["customer", "staff", "store"]
    show_full_result_count = False
    date_hierarchy = "occurred_at"


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    list_display = ["due_at", "customer", "subject", "assigned_to", "status"]
    list_filter = ["status", "assigned_to"]
    list_editable = ["status"]
    search_fields = ["subject", "notes", "customer__email", "customer__last_name"]
    autocomplete_fields = ["customer", "assigned_to"]
    list_select_related = ["customer", "assigned_to"]
    date_hierarchy = "due_at"


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "rules"]

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        validate_rules(rules)
        return rules


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Segments with a live count and a sample, so staff see whom a rule reaches before using it.

    A segment whose rules no longer hold (saved before they were checked, written by code, or
    naming a district or store that has since been renamed or removed) shows what to fix instead
    of a count, never an error page.
    """

    form = SegmentForm
    list_display = ["name", "created_at"]
    readonly_fields = ["size", "sample"]

    @admin.display(description=_("customers now"))
    def size(self, obj):
        if not obj.pk:
            return "—"
        try:
            validate_rules(obj.rules)
            return segment_customers(obj.rules).count()
        except ValidationError as error:
            return _("Rules need fixing: %(problems)s") % {"problems": " ".join(error.messages)}

    @admin.display(description=_("a few of them"))
    def sample(self, obj):
        if not obj.pk:
            return "—"
        try:
            customers = segment_customers(obj.rules)
        except ValidationError:
            return "—"
        return ", ".join(str(c) for c in customers.order_by("pk")[:10]) or "—"
