from django import forms
from django.utils.translation import gettext_lazy as _


class DisputeForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything we should know? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
