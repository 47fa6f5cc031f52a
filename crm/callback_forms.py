"""The callback form: the time agreed with the customer is typed as the customer's wall clock.

"I'll call you at nine" means nine where the customer is. The form reads the entered day and time
in the customer's zone (Customer.zone) and stores UTC; the reminder job fires at that instant.
"""

import datetime

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Callback


class WallClockField(forms.SplitDateTimeField):
    """A day and a time with no zone: the form decides whose clock it is."""

    def compress(self, data_list):
        if data_list and None not in data_list[:2]:
            return datetime.datetime.combine(*data_list[:2])
        return None

    def prepare_value(self, value):
        return value


def wall_clock_to_utc(wall: datetime.datetime, zone) -> datetime.datetime | None:
    """``wall`` read in ``zone`` as UTC; None when that wall time does not exist there (the hour
    skipped when clocks go forward). In the repeated hour (clocks go back) the first is meant."""
    aware = wall.replace(tzinfo=zone, fold=0)
    if aware.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return aware.astimezone(datetime.UTC)


class CallbackForm(forms.ModelForm):
    due_at = WallClockField(
        label=_("call at (the customer's local time)"),
        widget=AdminSplitDateTime,
        help_text=_("The day and time as the customer's clock shows them (their time zone); stored in UTC"),
    )

    class Meta:
        model = Callback
        fields = ["customer", "due_at", "assigned_to", "subject", "notes", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.due_at:
            zone = self.instance.customer.zone
            self.initial["due_at"] = timezone.localtime(self.instance.due_at, zone).replace(tzinfo=None)

    def clean(self):
        cleaned = super().clean()
        wall, customer = cleaned.get("due_at"), cleaned.get("customer")
        if wall is None or customer is None:
            return cleaned
        moment = wall_clock_to_utc(wall, customer.zone)
        if moment is None:
            self.add_error(
                "due_at",
                _("%(time)s does not exist in %(zone)s: the clocks go forward then. Choose another time.")
                % {"time": wall.strftime("%Y-%m-%d %H:%M"), "zone": customer.time_zone},
            )
        else:
            cleaned["due_at"] = moment
        return cleaned
