"""A batch renders each distinct subject (or other text that reads only plain values) once."""

from django.core import mail
from django.template import Template

from notifications.delivery import rendering
from notifications.delivery.dispatch import drain
from tests.notifications.factories import due_notification


def test_a_batch_renders_a_shared_subject_once_and_each_customers_body_for_them(customer_factory, monkeypatch):
    renders = []
    original = Template.render

    def counting(self, context):
        renders.append(self.source)
        return original(self, context)

    monkeypatch.setattr(Template, "render", counting)
    anna, bert = customer_factory(first_name="Anna", language="en"), customer_factory(first_name="Bert", language="en")
    for customer in (anna, bert):
        due_notification(customer, context={"title": "Opening hours", "text": "We open at 9."})

    assert drain()["sent"] == 2

    assert renders.count("{{ title }}") == 1  # the same title, rendered once for the batch
    assert [email.subject.endswith(": Opening hours") for email in mail.outbox] == [True, True]
    bodies = {email.to[0]: email.body for email in mail.outbox}
    assert bodies[anna.email].startswith("Hello Anna") and bodies[bert.email].startswith("Hello Bert")


def test_only_texts_of_plain_variables_are_memoised():
    assert rendering._inputs("{{ title|default:'An offer' }}") == ("title",)
    assert rendering._inputs("Hello {{ customer.first_name }}") == ("customer",)  # not plain: rendered each time
    assert rendering._inputs("{% if title %}{{ title }}{% endif %}") is None  # a tag: rendered each time
    assert rendering._inputs("{{ title|default:other }}") is None  # a filter reading another variable
    memo = {}
    first = rendering._render_text("{{ title }}", {"title": "A"}, memo)
    second = rendering._render_text("{{ title }}", {"title": "B"}, memo)
    assert (first, second, len(memo)) == ("A", "B", 2)
    customer = object()
    assert rendering._render_text("{{ who }}", {"who": customer}, memo) == str(customer)
    assert len(memo) == 2  # an object is not a key: rendered, not memoised
