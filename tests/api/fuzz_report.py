"""The fuzz modules' tally: cases run and 5xx answers, printed at the module's end and appended to
FUZZ_REPORT (the file .ci/run prints after its full-size fuzz step)."""

import os
import time
from collections import Counter

import pytest


def tally_report(label: str, tally: Counter):
    """A module-scoped autouse fixture that reports `tally` under `label` when the module ends."""

    @pytest.fixture(scope="module", autouse=True)
    def report(request):
        started = time.monotonic()
        yield
        line = f"{label}: {tally['cases']} cases, {tally['5xx']} answers 5xx, {time.monotonic() - started:.0f} s"
        with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            print(f"\n{line}")
        if os.environ.get("FUZZ_REPORT"):
            with open(os.environ["FUZZ_REPORT"], "a") as out:
                out.write(line + "\n")

    return report
