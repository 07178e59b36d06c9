"""Lab-results encoded by PostgreSQL itself: `COPY (<the rows query>) TO STDOUT`, several times faster.

A large data set is encoded by PostgreSQL: every value is already in its exported form, so Python only
passes bytes on (analysis/export_api.py streams them). Each expression below writes a value exactly as
`builders.cell` and the csv/json modules would (the tests compare the two paths byte for byte).
"""

import json

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, F, Func, TextField, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from analysis.exports.builders import arm_of, lab_results
from analysis.exports.datasets import require_known
from analysis.exports.dictionary import LAB_SOURCES, Column, lab_columns
from core.csv_safety import ESCAPE, FORMULA_PREFIXES, TEXT_TYPE
from core.selectors import arm_results_visible


class _IsoUtc(Func):
    """A timestamp as ISO 8601 in UTC with "Z", microseconds only when not zero (as datetime.isoformat)."""

    template = (
        "replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
    )
    output_field = TextField()


class _FloatText(Func):
    """A decimal as Python's repr(float(value)): shortest round-trip digits, ".0" on whole numbers.

    Exact for numeric(14, 4): PostgreSQL and Python both print the shortest round-trip form and agree
    on when to use an exponent for magnitudes between 1e-4 and 1e15. (A CASE costs the database a
    fraction of what a regular expression on the text would.)
    """

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        value, params = compiler.compile(self.source_expressions[0])
        sql = f"CASE WHEN {value} = trunc({value}) THEN trunc({value})::text || '.0' ELSE ({value})::float8::text END"
        return sql, [*params, *params, *params, *params]


class _CsvText(Func):
    """Text as core.csv_safety.csv_text writes it to CSV: a `'` before a formula's first character.

    ascii() is the code of the first character (0 for "", NULL for NULL): integer comparisons, no
    one-character string built. Every prefix is below "A", so a value starting with a letter (codes,
    units, flags) is settled by one comparison before the list (measured: the list alone cost ~30 ns
    per value, with the test first ~2 ns).
    """

    output_field = TextField()
    codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
    above = max(ord(prefix) for prefix in FORMULA_PREFIXES)
    escape = "'" + ESCAPE.replace("'", "''") + "'"

    def as_sql(self, compiler, connection, **extra_context):
        value, params = compiler.compile(self.source_expressions[0])
        test = f"ascii({value}) <= {self.above} AND ascii({value}) IN ({self.codes})"
        sql = f"CASE WHEN {test} THEN {self.escape} || {value} ELSE {value} END"
        return sql, [*params, *params, *params, *params]


class _Joined(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = TextField()


def _blank_as_null(field: str) -> NullIf:
    return NullIf(F(field), Value(""))  # "" is written as missing, as `cell` does


def _lab_encoded(user, text: frozenset[str] = frozenset()) -> list[tuple[str, Func]]:
    """(column, SQL expression of its exported text) of every lab-results column, in column order.

    The columns named in `text` are defused for CSV (`_CsvText`).
    """
    arm = arm_of("draw__patient__") if arm_results_visible(user) else Cast(Value(None), CharField())
    encoded = {
        "arm": arm,
        "drawn_at": _IsoUtc(F("draw__drawn_at")),
        "canonical_value": _FloatText(F("canonical_value")),
    }
    expressions = [
        (name, encoded[name] if name in encoded else _blank_as_null(source)) for name, source in LAB_SOURCES.items()
    ]
    return [(name, _CsvText(expression) if name in text else expression) for name, expression in expressions]


def _json_object(columns: list[tuple[str, Func]], numbers: set[str]) -> _Joined:
    """One row as the text of json.dumps(dict(row), ensure_ascii=False): keys in column order."""
    parts: list = []
    for index, (name, expression) in enumerate(columns):
        parts.append(Value(("{" if index == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "))
        value = expression if name in numbers else Cast(Func(expression, function="to_json"), TextField())
        parts.append(Coalesce(value, Value("null", output_field=TextField())))
    return _Joined(*parts, Value("}", output_field=TextField()))


def copy_statement(dataset: str, fmt: str, *, user, columns: list[Column] | None = None) -> str | None:
    """`COPY ... TO STDOUT` whose rows are the data set's rows already encoded, or None (encoded in Python).

    CSV: PostgreSQL's CSV format, lines ending LF (Python's csv module ends them CRLF), text cells
    defused as `csv_rows_of()` does (the text columns are those of `columns`, the data set's columns,
    read here when not given). JSON: text format, one object per line, every backslash doubled by COPY,
    values as entered. Same rows, order, scoping and blinding as `rows()`; only lab-results, the one
    data set whose size grows with the trial.
    """
    require_known(dataset)
    if dataset != "lab-results":
        return None
    if fmt == "csv":
        text = frozenset(column.name for column in columns or lab_columns() if column.type == TEXT_TYPE)
        expressions = (expression for _, expression in _lab_encoded(user, text))
        queryset, options = lab_results(user).values_list(*expressions), "FORMAT csv"
    else:
        queryset = lab_results(user).values_list(_json_object(_lab_encoded(user), {"canonical_value"}))
        options = "FORMAT text"
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # the user reads no site: the Python path yields the empty export
        return None
    return f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT WITH ({options})"
