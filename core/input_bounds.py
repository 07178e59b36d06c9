"""Every user-supplied length and number has a bound, so no input reaches a column that cannot hold it.

One mechanism for the API's input serializers (core.api.StrictSerializer) and the pages' forms
(core.forms.BootstrapForm), applied to each field its declaration left unbounded:
- text: the length of the model column it is stored in (if shorter than declared), else TEXT_MAX when the
  declaration gives none (a reason, a message);
- whole numbers: the range of the model column (a PositiveSmallIntegerField holds 0–32,767), else the
  range of PostgreSQL's integer;
- mappings and lists (questionnaire answers, criteria): at most ITEMS_MAX entries.
Decimals are bounded by their declared max_digits. Past a bound the answer is a 400 (a form's message beside
its field), never the database's "value too long" or "out of range" as a 500.
"""

from django import forms
from django.core import validators
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Field, Model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

TEXT_MAX = 2000
ITEMS_MAX = 100
INTEGER_RANGE = connection.ops.integer_field_range("IntegerField")


def column_of(model: type[Model] | None, name: str) -> Field | None:
    """The concrete model field `name` names, if any."""
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if getattr(field, "concrete", False) and not field.is_relation else None


def _text_limit(declared: int | None, column: Field | None) -> int | None:
    """The bound to set, or None to keep the declared one: the column's if smaller, else TEXT_MAX if none."""
    stored = column.max_length if column is not None else None
    if declared is None:
        return stored or TEXT_MAX
    return stored if stored and stored < declared else None


def _integer_range(column: Field | None) -> tuple[int, int]:
    if column is None:
        return INTEGER_RANGE
    low, high = connection.ops.integer_field_range(column.get_internal_type())
    return (INTEGER_RANGE[0] if low is None else low), (INTEGER_RANGE[1] if high is None else high)


class ItemsValidator:
    """At most `limit` entries in a mapping or list."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value):
        if len(value) > self.limit:
            message = _("Send at most %(limit)s entries (%(count)s sent).") % {"limit": self.limit, "count": len(value)}
            raise serializers.ValidationError(message)


def bound_serializer_field(field: serializers.Field, column: Field | None) -> None:
    """Give a DRF input field the bounds its declaration lacks (its schema shows them too)."""
    if isinstance(field, serializers.CharField):
        limit = _text_limit(field.max_length, column)
        if limit is not None:
            field.max_length = limit
            message = field.error_messages["max_length"].format(max_length=limit)
            field.validators.append(validators.MaxLengthValidator(limit, message=message))
    elif isinstance(field, serializers.IntegerField):
        low, high = _integer_range(column)
        if field.max_value is None or field.max_value > high:
            field.max_value = high
            message = field.error_messages["max_value"].format(max_value=high)
            field.validators.append(validators.MaxValueValidator(high, message=message))
        if field.min_value is None or field.min_value < low:
            field.min_value = low
            message = field.error_messages["min_value"].format(min_value=low)
            field.validators.append(validators.MinValueValidator(low, message=message))
    elif isinstance(field, serializers.ListField):
        if field.max_length is None or field.max_length > ITEMS_MAX:
            field.max_length = ITEMS_MAX
            field.validators.append(ItemsValidator(ITEMS_MAX))
    elif isinstance(field, serializers.DictField):
        field.validators.append(ItemsValidator(ITEMS_MAX))


def bound_serializer_fields(fields: dict[str, serializers.Field], model: type[Model] | None) -> None:
    for name, field in fields.items():
        if not field.read_only:
            bound_serializer_field(field, column_of(model, field._kwargs.get("source", name)))


def bound_form_fields(fields: dict[str, forms.Field]) -> None:
    """Give a form's text and whole-number fields the bounds their declarations lack."""
    for field in fields.values():
        if isinstance(field, forms.CharField) and field.max_length is None:
            field.max_length = TEXT_MAX
            field.validators.append(validators.MaxLengthValidator(TEXT_MAX))
        elif isinstance(field, forms.IntegerField):
            low, high = INTEGER_RANGE
            if field.max_value is None or field.max_value > high:
                field.max_value = high
                field.validators.append(validators.MaxValueValidator(high))
            if field.min_value is None or field.min_value < low:
                field.min_value = low
                field.validators.append(validators.MinValueValidator(low))
