"""Comparisons the statistics tests share: a tight approx, JSON safety, an estimate with its interval
as one flat list."""

import json

import pytest

TOL = {"rel": 1e-9, "abs": 1e-9}


def approx(value):
    return pytest.approx(value, **TOL)


def assert_json_safe(result):
    json.dumps(result.as_dict(), allow_nan=False)


def flat(estimate_dict):
    return [estimate_dict["estimate"], *estimate_dict["ci95"]]
