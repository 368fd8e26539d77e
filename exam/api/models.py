"""The API's one table: a processed JSON element per row."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from exam.api.schema import DEVICE_NAME_MAX_LENGTH, ELEMENT_ID_MAX_LENGTH

#: The unique constraint on ``element_id``; its violations are 409 Conflict.
ELEMENT_ID_UNIQUE = "element_id_unique"


class Element(models.Model):
    """One processed element: its id, device, raw rows and computed fields.

    The element's own ``id`` is ``element_id``, unique but editable; the
    surrogate primary key stays put when it changes, so a rename updates the
    row instead of copying it.  ``size``, ``rows``, ``columns`` and the two
    averages are computed on the server by :func:`exam.elements.summarize_element`
    and backed by database constraints.
    """

    element_id = models.CharField(max_length=ELEMENT_ID_MAX_LENGTH)
    device_name = models.CharField(
        max_length=DEVICE_NAME_MAX_LENGTH, null=True, blank=True, db_index=True
    )
    data = models.JSONField(help_text="The element's rows as sent: strings of numbers.")
    size = models.IntegerField(help_text="Number of values: rows x columns.")
    rows = models.IntegerField()
    columns = models.IntegerField()
    average_before = models.FloatField(help_text="Mean of the values as sent.")
    average_after = models.FloatField(help_text="Mean after dividing by the maximum, in [0, 1].")
    # Set by the services rather than auto_now(_add), so that a new row's two
    # timestamps are the same instant.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("pk",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Named, so that a violation can be told from any other integrity error.
            models.UniqueConstraint(fields=["element_id"], name=ELEMENT_ID_UNIQUE),
            models.CheckConstraint(condition=Q(size__gte=0), name="element_size_non_negative"),
            models.CheckConstraint(
                condition=Q(average_after__gte=0) & Q(average_after__lte=1),
                name="element_average_after_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(size=F("rows") * F("columns")),
                name="element_size_is_rows_times_columns",
            ),
        ]

    def __str__(self) -> str:
        return self.element_id
