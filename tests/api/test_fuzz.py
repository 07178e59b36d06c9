"""Hostile-input fuzzing of every API operation (issue 18): no 5xx, and a refused request saves nothing.

Two generators, over every operation of the served OpenAPI schema, as an own-site staff user with real
records present (the world of tests/api/test_schemathesis.py):
- schemathesis' valid and invalid requests, each then poisoned: NUL, other C0 controls (and, in JSON, a
  lone surrogate) inserted into its strings (body, query, path; a lab file's bytes too);
- hypothesis' JSON of extreme depth, width, length and number size, as the whole body or as one field.

Every answer is checked like tests/api/test_schemathesis.py checks (no 5xx, documented status, content
type and body); a 4xx must leave every clinical table and its audit events as they were. Each request
runs in a savepoint that is rolled back, so the world stays the same for every case.

FUZZ_EXAMPLES sets the examples per operation and generator (default 3: seconds, for `make test`);
`.ci/run` runs the full fuzz (-m fuzz) with more. The module reports its cases, 5xx count and time.
"""

import json
import os
from collections import Counter

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import Failure, FailureGroup

from tests.api.fuzz_report import tally_report
from tests.api.test_schemathesis import CHECKS, OPERATIONS, _real_parameters, _strategy, build_world
from tests.core.hostile import row_counts
from tests.module_data import module_data

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
TALLY: Counter = Counter()  # cases and 5xx answers, reported when the module ends

CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f"]
ALLOWED = ["\t", "\n", "\r"]
LONE_SURROGATE = "\ud800"  # only where JSON carries it (as \\ud800); a URL cannot


world = module_data(build_world)


def _settings():
    return settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


tally = tally_report("API fuzz", TALLY)


# --- Poisoning generated requests ---------------------------------------------------------------------


def _string_slots(value, json_body: bool):
    """(container, key) of every string in a generated body, query or path parameters."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, member in list(items):
        if isinstance(member, str | bytes):
            yield value, key, json_body
        else:
            yield from _string_slots(member, json_body)


def _poison(case, draw) -> None:
    """Insert up to 3 control characters into strings of the request (every part may get one)."""
    json_body = case.media_type == "application/json"
    slots = [
        *_string_slots(case.body if isinstance(case.body, dict | list) else {}, json_body),
        *_string_slots(case.query or {}, False),
        *_string_slots(case.path_parameters or {}, False),
    ]
    if not slots:
        case.query = {**(case.query or {}), "q": ""}
        slots = [(case.query, "q", False)]
    # Mostly refused by the request guard; TAB, LF and CR (and cases left clean) reach the views.
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        container, key, in_json = draw(st.sampled_from(slots))
        text = container[key]
        character = draw(st.sampled_from(CONTROLS + ALLOWED + ([LONE_SURROGATE] if in_json else [])))
        at = draw(st.integers(0, len(text)))
        if isinstance(text, bytes):
            character = character.encode() if character != LONE_SURROGATE else b"\x00"
        container[key] = text[:at] + character + text[at:]


# --- Sending and judging --------------------------------------------------------------------------------


def _judge(case, response, before, headers, failures: dict) -> None:
    TALLY["cases"] += 1
    if response.status_code >= 500:
        TALLY["5xx"] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (Failure, FailureGroup) as error:
        for failure in error.exceptions if isinstance(error, FailureGroup) else [error]:
            where = f"{response.status_code} {response.text[:200]!r} for {case.as_curl_command()[:600]}"
            failures.setdefault((type(failure).__name__, response.status_code), f"{failure.title}: {where}")
    if 400 <= response.status_code < 500 and row_counts() != before:
        failures.setdefault(("saved", response.status_code), f"refused but saved: {case.as_curl_command()[:600]}")


def _send(case, headers, failures: dict) -> None:
    with transaction.atomic():
        before = row_counts()
        response = case.call(headers=headers)
        _judge(case, response, before, headers, failures)
        transaction.set_rollback(True)


def _report(failures: dict) -> None:
    assert not failures, "\n".join(failures.values())


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_control_characters_anywhere_are_refused_without_a_5xx_or_a_save(world, in_transaction, label):
    strategy, failures = _strategy(world, OPERATIONS[label]), {}

    @given(data=st.data())
    @_settings()
    def send(data):
        case = data.draw(strategy)
        _poison(case, data.draw)
        _send(case, world["headers"], failures)

    send()
    _report(failures)


# --- JSON of extreme shape ------------------------------------------------------------------------------


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


NUMBERS = ["1e400", "-1e400", "1e-400", "-0", "1" * 5000, "9" * 40, "123456789012345678901234567890", "0.1e-7"]
FRAGMENT = st.one_of(
    st.integers(1, 6000).map(_nested),  # depth
    st.integers(1, 40).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.integers(0, 1500).map(lambda n: "[" + ",".join(["0"] * n) + "]"),  # width
    st.integers(0, 1500).map(lambda n: "{" + ",".join(f'"k{i}":{i}' for i in range(n)) + "}"),
    st.integers(0, 60_000).map(lambda n: json.dumps("x" * n)),  # length
    st.sampled_from(NUMBERS),  # magnitude, as raw JSON text
)
JSON_WRITES = sorted(label for label, op in OPERATIONS.items() if op.method.upper() in ("POST", "PATCH"))


def _fields(operation) -> list[str]:
    schema = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref", "")
    component = operation.schema.raw_schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return sorted(component.get("properties", {})) or ["value"]


@pytest.mark.parametrize("label", JSON_WRITES)
def test_json_of_extreme_depth_width_length_and_magnitude_is_refused_without_a_5xx(world, in_transaction, label):
    operation, failures = OPERATIONS[label], {}
    fields = _fields(operation)
    parameters = _real_parameters(world, operation)

    @given(fragment=FRAGMENT, field=st.sampled_from([None, *fields]))
    @_settings()
    def send(fragment, field):
        body = fragment if field is None else "{" + json.dumps(field) + ":" + fragment + "}"
        case = operation.Case(**parameters, body=body.encode(), media_type="application/json")
        _send(case, world["headers"], failures)

    send()
    _report(failures)
