"""The "this wasn't me" page a bonus message links to: the customer disputes one of their bonus events.

A customer page like any other (``crm.links``): a signed token, no login, GET writes nothing.
"""

from django.utils import translation

from crm.links.pages import invalid_link, page_language, render_page, token_page
from crm.links.tokens import read_customer_token
from crm.zones import moment_in
from loyalty.forms import DisputeForm
from loyalty.models import BonusTransaction
from loyalty.services import dispute_open


@token_page("dispute")
def dispute(request, token: str):
    resolved = read_customer_token("dispute", token)
    if resolved is None:
        return invalid_link(request)
    customer, data = resolved
    event = (
        BonusTransaction.objects.select_related("store").filter(pk=data.get("tx"), account__customer=customer).first()
    )
    if event is None:
        return invalid_link(request)
    language = page_language(request, customer)
    with translation.override(language):
        form = DisputeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            dispute_open(transaction_id=event.pk, customer=customer, comment=form.cleaned_data["comment"])
            return render_page(request, "loyalty/dispute_done.html", {"event": event}, language)
    # The customer's own clock, named: the moment as their receipt shows it.
    when = {"when": moment_in(event.occurred_at, customer.zone), "zone": customer.time_zone}
    return render_page(request, "loyalty/dispute.html", {"form": form, "event": event, **when}, language)
