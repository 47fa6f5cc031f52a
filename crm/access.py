"""Which customers a staff member may see: every store's, or only their own store's.

The rule, kept as simple as it can be truthfully: a staff member with ``crm.view_all_customers``
(or a superuser) sees every customer; anyone else sees the customers whose **home store** is the
store of their StaffProfile, and none without one. Home store is what the customer chose (or the
import set) and what the store's staff are answerable for; a customer who only passed through
another store once stays that store's stranger. Every admin page that lists customers or rows
about them goes through ``store_scoped`` (their changelists, change and history pages, the
customer autocomplete, and the custom pages that show one customer), so a store manager reaches
another store's customer by no URL; only the unsubscribe feedback is not, which marketing
analyses whole and no store-scoped role may open. A row with no customer (an inbound message from an unknown
number) is shown only to those who see every store's customers.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

ALL_CUSTOMERS = "crm.view_all_customers"


def sees_all_customers(user) -> bool:
    return user.has_perm(ALL_CUSTOMERS)


def store_scoped(queryset: QuerySet, user, customer_path: str = "") -> QuerySet:
    """``queryset`` limited to the rows about customers ``user`` may see; ``customer_path`` leads
    from its model to Customer ("" for Customer itself)."""
    if sees_all_customers(user):
        return queryset
    prefix = f"{customer_path}__" if customer_path else ""
    return queryset.filter(**{f"{prefix}home_store__staff_profiles__user": user})


class StoreScopedMixin:
    """A ModelAdmin whose rows belong to customers: only the customers the user may see."""

    customer_path = "customer"

    def get_queryset(self, request):
        return store_scoped(super().get_queryset(request), request.user, self.customer_path)

    def history_view(self, request, object_id, extra_context=None):
        # Django looks the object up first: a user who may see none would be told it does not
        # exist (a redirect) where the answer is that they may not look.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)
