from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    """A named group of customers defined by rules, evaluated to a queryset when used (see campaigns.segments)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    rules = models.JSONField(
        _("rules"),
        default=dict,
        # Two messages, so the first keeps its translations while the second waits for its own.
        help_text=format_lazy(
            "{} {}",
            _(
                'All must hold, e.g. {"districts": ["Kalamaja, Tallinn", 4], "languages": ["et"], "badges": ["full"], '
                '"tiers": ["gold"], "gender": "female", "bought_within_days": 90, "min_purchases_12m": 3, '
                '"min_spend_12m": "200", "store": {"code": "TLN-01", "mode": "most_purchases"}, '
                '"answers": [{"question": 12, "value": "women"}]}. Districts by id, name or "name, city"; '
                'store mode "most_purchases" (last 12 months) or "last_purchase".'
            ),
            _(
                "min_purchases_12m and min_spend_12m read each bonus account's rolling year (refunded sales "
                "left out), which every sale updates and a nightly recount trims: a sale older than 12 months "
                "still counts until that night."
            ),
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        # The table keeps the name it had when segments lived in crm (the data stays where it is).
        db_table = "crm_segment"
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name
