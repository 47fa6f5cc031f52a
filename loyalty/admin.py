from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from audit.models import AuditEntry
from audit.services import audit_record, audit_record_many
from crm.access import StoreScopedMixin
from crm.admin import CustomerSearchMixin, ReadOnlyModelAdmin
from crm.admin_scale import BoundedInlineMixin, LargeTableAdmin
from crm.admin_transfer import AuditedImportMixin
from crm.selectors import customer_ids_matching
from loyalty import services
from loyalty.models import (
    BonusAccount,
    BonusLot,
    BonusTransaction,
    Dispute,
    EarningRule,
    PosApiKey,
    PosLockout,
    Tier,
    hash_api_key,
)
from loyalty.resources import AdjustmentResource
from loyalty.selectors import dispute_counts, liability_report

LIABILITY_PERMISSION = "loyalty.view_liability"
ADJUST_PERMISSION = "loyalty.adjust_points"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LotInline(BoundedInlineMixin, ReadOnlyInline):
    model = BonusLot
    fields = ["expires_at", "points", "remaining", "credit"]
    readonly_fields = fields
    shown = 20
    verbose_name_plural = _("lots (open ones first, by expiry; the first 20)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("credit").order_by("-remaining", "expires_at", "id")


class TransactionInline(BoundedInlineMixin, ReadOnlyInline):
    model = BonusTransaction
    fk_name = "account"
    fields = ["occurred_at", "kind", "points", "debt_change", "store", "receipt_id", "cashier_id", "reason", "staff"]
    readonly_fields = fields
    shown = 50
    verbose_name_plural = _("ledger (latest 50; the whole ledger under “Bonus transactions”)")

    def get_queryset(self, request):
        # loyalty_tx_account_idx: the account's lines newest first, read no further than the page.
        return super().get_queryset(request).select_related("store", "staff").order_by("-occurred_at", "-id")


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(label=_("points"), help_text=_("Positive to add, negative to take away"))
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(BonusAccount)
class BonusAccountAdmin(StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    list_display = ["customer", "balance", "debt", "tier", "updated_at"]
    list_filter = ["tier"]
    search_fields = ["customer"]  # see CustomerSearchMixin
    list_select_related = ["customer", "tier"]
    readonly_fields = [
        "customer",
        "balance",
        "debt",
        "tier",
        "spend_12m",
        "purchases_12m",
        "last_purchase_at",
        "created_at",
        "updated_at",
    ]
    inlines = [LotInline, TransactionInline]
    ordering = ["-id"]

    def get_queryset(self, request):
        # The change page shows the customer and the tier too: one query, not three.
        return super().get_queryset(request).select_related("customer", "tier")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("liability/", self.admin_site.admin_view(self.liability_view), name="loyalty_liability"),
            path("<int:pk>/adjust/", self.admin_site.admin_view(self.adjust_view), name="loyalty_bonusaccount_adjust"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {})}
        if request.user.has_perm(LIABILITY_PERMISSION):
            extra_context["liability_url"] = reverse("admin:loyalty_liability")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        if request.user.has_perm(ADJUST_PERMISSION):
            extra_context["adjust_url"] = reverse("admin:loyalty_bonusaccount_adjust", args=[object_id])
        if request.user.has_perm("loyalty.view_bonustransaction"):
            extra_context["ledger_url"] = (
                reverse("admin:loyalty_bonustransaction_changelist") + f"?account__id__exact={object_id}"
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def liability_view(self, request):
        if not request.user.has_perm(LIABILITY_PERMISSION):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Points liability"),
            "report": liability_report(),
        }
        return TemplateResponse(request, "admin/loyalty/liability.html", context)

    def adjust_view(self, request, pk):
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        account = get_object_or_404(self.get_queryset(request), pk=pk)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                balance = account.balance
                adjustment = services.points_adjust(
                    customer=account.customer,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    staff=request.user,
                )
            except services.LoyaltyError as exc:
                form.add_error("points" if exc.field != "reason" else "reason", exc.message)
            else:
                account.refresh_from_db(fields=["balance"])
                audit_record(
                    request=request,
                    action=AuditEntry.Action.ADJUST_POINTS,
                    obj=account,
                    changes={
                        "balance": [balance, account.balance],
                        "points": [None, form.cleaned_data["points"]],
                        "reason": [None, form.cleaned_data["reason"]],
                        "transaction": [None, adjustment.pk],
                    },
                )
                messages.success(request, _("The balance was adjusted."))
                return redirect("admin:loyalty_bonusaccount_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust the balance of %(customer)s") % {"customer": account.customer},
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/loyalty/adjust.html", context)


@admin.register(BonusTransaction)
class BonusTransactionAdmin(AuditedImportMixin, StoreScopedMixin, CustomerSearchMixin, ReadOnlyModelAdmin):
    """The whole ledger, latest recorded first; one account's: filter by it (the account page links here).

    Adjustments come in from a file too (loyalty.resources), each through points_adjust.
    """

    resource_classes = [AdjustmentResource]
    import_permissions = (ADJUST_PERMISSION, "loyalty.view_bonustransaction")

    list_display = ["occurred_at", "account", "kind", "points", "debt_change", "store", "receipt_id", "cashier_id"]
    list_filter = ["kind", "store"]
    search_fields = ["account", "receipt_id"]  # see CustomerSearchMixin
    search_help_text = _("A receipt number, or the customer's name, e-mail, card or phone")
    list_select_related = ["account__customer", "store"]
    ordering = ["-id"]
    customer_path = "account__customer"

    def customer_matches(self, term):
        accounts = BonusAccount.objects.filter(customer_id__in=customer_ids_matching(term))
        return Q(account_id__in=list(accounts.values_list("pk", flat=True)))  # loyalty_tx_account_idx

    def search_also(self, term):
        return Q(receipt_id=term)  # loyalty_tx_receipt_idx


@admin.register(Dispute)
class DisputeAdmin(AuditedAdminMixin, StoreScopedMixin, admin.ModelAdmin):
    list_display = ["created_at", "customer", "transaction", "store", "cashier", "status"]
    list_filter = ["status", "transaction__store"]
    search_fields = ["customer__email", "customer__external_id", "transaction__receipt_id", "transaction__cashier_id"]
    list_select_related = ["customer", "transaction__store"]
    readonly_fields = ["transaction", "customer", "customer_comment", "resolved_by", "resolved_at", "created_at"]
    fields = ["transaction", "customer", "customer_comment", "status", "staff_note", "resolved_by", "resolved_at"]
    actions = ["mark_confirmed", "mark_rejected"]
    show_full_result_count = False

    @admin.display(description=_("store"))
    def store(self, obj):
        return obj.transaction.store

    @admin.display(description=_("cashier"))
    def cashier(self, obj):
        return obj.transaction.cashier_id

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "counts": dispute_counts()}
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data and obj.status != Dispute.Status.OPEN:
            services.dispute_resolve(dispute=obj, status=obj.status, staff=request.user, note=obj.staff_note)
        else:
            super().save_model(request, obj, form, change)

    def _resolve(self, request, queryset, status):
        resolved = []
        for dispute in queryset.filter(status=Dispute.Status.OPEN):
            services.dispute_resolve(dispute=dispute, status=status, staff=request.user)
            resolved.append(dispute)
        changes = {"status": [Dispute.Status.OPEN, status]}
        audit_record_many(request=request, action=AuditEntry.Action.RESOLVE, objects=resolved, changes=changes)

    @admin.action(description=_("Confirm: not the customer (fraud)"), permissions=["change"])
    def mark_confirmed(self, request, queryset):
        self._resolve(request, queryset, Dispute.Status.CONFIRMED)

    @admin.action(description=_("Reject: the customer's own purchase"), permissions=["change"])
    def mark_rejected(self, request, queryset):
        self._resolve(request, queryset, Dispute.Status.REJECTED)


@admin.register(PosApiKey)
class PosApiKeyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["store", "name", "prefix", "is_active", "last_used_at", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    fields = ["store", "name", "is_active", "prefix", "last_used_at"]
    readonly_fields = ["prefix", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            raw = PosApiKey.generate()
            obj.prefix, obj.key_hash = raw[:12], hash_api_key(raw)
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                _("The key for %(store)s is shown once; give it to the till now: %(key)s")
                % {"store": obj.store, "key": raw},
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(Tier)
class TierAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "min_spend", "earn_rate", "birthday_gift_points", "holiday_gift_points"]


@admin.register(EarningRule)
class EarningRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "multiplier", "store", "tier", "starts_on", "ends_on", "is_active"]
    list_filter = ["is_active", "tier", "store"]
    list_select_related = ["store", "tier"]
    autocomplete_fields = ["store"]


@admin.register(PosLockout)
class PosLockoutAdmin(admin.ModelAdmin):
    """Addresses locked out of the POS API for guessing keys; deleting one lifts its lock at once."""

    list_display = ["ip", "failures", "key_prefix", "created_at", "locked_until"]
    search_fields = ["ip"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
