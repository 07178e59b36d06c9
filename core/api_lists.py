"""List endpoints whose pages are read with `.values()` and shaped by the serializer's own fields.

A page of 100 patients through a ModelSerializer builds ~500 model instances (the row and its
`select_related` parents) and walks DRF's generic field machinery for each: ~35 ms of a 40 ms request.
Reading the same columns as plain values and applying each serializer field's `to_representation` to
its value gives the same JSON (every field's formatting is still the serializer's: dates, decimals,
time zones) in a few milliseconds. Serializers with a field that is not a plain column path (a method
field, a nested serializer) keep the ordinary path. tests/api/test_values_lists.py compares both paths
on every list endpoint that uses this.
"""

from rest_framework import serializers
from rest_framework.fields import SkipField

# Fields whose value is computed from the instance, not read from one column.
_NOT_A_COLUMN = (serializers.SerializerMethodField, serializers.BaseSerializer, serializers.HiddenField)


def column_lookups(serializer: serializers.Serializer) -> dict[str, str] | None:
    """Output key → `.values()` lookup for each field, or None when a field is not a plain column path."""
    lookups = {}
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        if isinstance(field, _NOT_A_COLUMN) or field.source == "*":
            return None
        lookups[name] = field.source.replace(".", "__")
    return lookups


class ValuesListMixin:
    """For a ListAPIView: the page is read as values (with `pk` for the cursor) and shaped field by field."""

    def list(self, request, *args, **kwargs):
        serializer = self.get_serializer()
        lookups = column_lookups(serializer)
        if lookups is None:
            return super().list(request, *args, **kwargs)
        fields = {name: serializer.fields[name] for name in lookups}
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values("pk", *set(lookups.values())))
        return self.get_paginated_response([_shaped(row, lookups, fields) for row in page])


def _shaped(row: dict, lookups: dict[str, str], fields: dict) -> dict:
    shaped = {}
    for name, lookup in lookups.items():
        value = row[lookup]
        try:
            shaped[name] = None if value is None else fields[name].to_representation(value)
        except SkipField:
            continue
    return shaped
