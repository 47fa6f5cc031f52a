"""The customer's own copy of their data, from the preference centre (a link customers already have).

A customer page like any other (``crm.links``): the preference centre's signed token, no login,
rate limited; GET explains and writes nothing, the POST returns the JSON file.
"""

from django.http import HttpResponse

from crm.links.pages import invalid_link, page_language, render_page, token_page
from crm.links.tokens import read_customer_token
from privacy.export import customer_export_record, export_filename, export_json
from privacy.models import DataRequest


@token_page("my-data")
def my_data(request, token: str):
    resolved = read_customer_token("preferences", token)
    if resolved is None:
        return invalid_link(request)
    customer, _data = resolved
    if request.method == "POST":
        export = customer_export_record(
            customer=customer, kind=DataRequest.Kind.EXPORT_JSON, source=DataRequest.Source.CUSTOMER
        )
        response = HttpResponse(export_json(export), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(export)}"'
        return response
    return render_page(request, "privacy/my_data.html", {"customer": customer}, page_language(request, customer))
