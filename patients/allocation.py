"""Allocation sequences as pure functions: permuted blocks from a recorded seed, CSV import, SHA-256.

No Django here (messages are English templates with named values, marked for the catalogue and
translated where they are shown). The same generator, seed and parameters always give the same sequence
(the draws are in `patients.allocation_stream`), so a list can be regenerated and its hash checked by
anyone holding the seed.
"""

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.markers import gettext_noop
from patients.allocation_stream import HMAC_SHA256_V2, MT19937_V1, stream

CSV_HEADER = ["sequence", "arm"]
MAX_LIST_LENGTH = 100_000


@dataclass(frozen=True)
class AllocatedSlot:
    sequence: int  # 1-based position in the stratum's list
    arm: str
    block_number: int  # 1-based; 0 for imported lists without blocks
    block_size: int


class DesignError(ValueError):
    """A list design that cannot work; `template % values` is the English message."""

    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        super().__init__(template % values)


def _validate_design(block_sizes: Sequence[int], arms: Sequence[str], ratio: Sequence[int]) -> None:
    if len(arms) != len(ratio) or len(set(arms)) != len(arms) or not arms:
        raise DesignError(gettext_noop("Give each arm once, with one ratio entry per arm."))
    if any(r < 1 for r in ratio):
        raise DesignError(gettext_noop("Ratio entries must be positive whole numbers."))
    unit = sum(ratio)
    if not block_sizes or any(size < unit or size % unit for size in block_sizes):
        raise DesignError(
            gettext_noop("Every block size must be a positive multiple of %(unit)s (the sum of the ratio)."), unit=unit
        )


def permuted_blocks(
    *,
    seed: str | int,
    length: int,
    block_sizes: Sequence[int] = (2, 4),
    arms: Sequence[str],
    ratio: Sequence[int] = (1, 1),
    generator: str = HMAC_SHA256_V2,
) -> list[AllocatedSlot]:
    """Exactly `length` slots in permuted blocks of randomly chosen size, each block balanced to the ratio.

    Per block: draw its size (v2: an index into the distinct sizes in ascending order; v1: Python's
    `choice` over the sizes as given), lay out the arms in the given order, each `share × size / sum(ratio)`
    times, and shuffle them. The list is a prefix-stable stream: a longer list from the same seed starts
    with the shorter one, which is how a live list is extended without changing any existing slot. Only
    the last block may be cut short; an extension completes it.
    """
    _validate_design(block_sizes, arms, ratio)
    if not 1 <= length <= MAX_LIST_LENGTH:
        raise DesignError(gettext_noop("List length must be between 1 and %(max)s."), max=MAX_LIST_LENGTH)
    draws = stream(generator, seed)
    sizes = list(block_sizes) if generator == MT19937_V1 else sorted(set(block_sizes))
    slots: list[AllocatedSlot] = []
    block_number = 0
    while len(slots) < length:
        size = draws.choice(sizes)
        block = [arm for arm, share in zip(arms, ratio, strict=True) for _ in range(share * size // sum(ratio))]
        draws.shuffle(block)
        block_number += 1
        start = len(slots)
        slots.extend(AllocatedSlot(start + i + 1, arm, block_number, size) for i, arm in enumerate(block))
    return slots[:length]


def sequence_sha256(slots: Sequence[AllocatedSlot]) -> str:
    """SHA-256 of the canonical text `sequence,arm` per line (LF, ascending sequence)."""
    canonical = "".join(f"{s.sequence},{s.arm}\n" for s in sorted(slots, key=lambda s: s.sequence))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class CsvProblem:
    row: int  # 1-based line number in the file; 0 for the file as a whole
    template: str  # English, with %(name)s placeholders filled from `values`
    values: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template % self.values


def parse_allocation_csv(
    content: bytes, *, known_arms: set[str], first_sequence: int = 1
) -> tuple[list[AllocatedSlot], list[CsvProblem]]:
    """A statistician's list as `sequence,arm` rows; every problem is reported, nothing is half-read.

    `first_sequence` lets an extension file continue a live list (its sequences must start there).
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [CsvProblem(0, gettext_noop("The file is not UTF-8 text."))]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], [CsvProblem(0, gettext_noop("The file is empty."))]
    if [cell.strip().lower() for cell in rows[0]] != CSV_HEADER:
        return [], [
            CsvProblem(1, gettext_noop("The header must be exactly: %(header)s."), {"header": ",".join(CSV_HEADER)})
        ]
    slots, problems = [], []
    seen: dict[int, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        slot, problem = _parse_row(line, row, known_arms, seen)
        if problem:
            problems.append(problem)
        elif slot:
            slots.append(slot)
    problems.extend(_completeness_problems(seen, first_sequence, bool(problems)))
    return (sorted(slots, key=lambda s: s.sequence), problems) if not problems else ([], problems)


def _parse_row(line: int, row: list[str], known_arms: set[str], seen: dict[int, int]):
    if not any(cell.strip() for cell in row):
        return None, None  # blank lines (e.g. a trailing newline) carry nothing
    if len(row) != len(CSV_HEADER):
        return None, CsvProblem(
            line,
            gettext_noop("Expected %(expected)s columns, found %(found)s."),
            {"expected": len(CSV_HEADER), "found": len(row)},
        )
    raw_sequence, arm = row[0].strip(), row[1].strip()
    if not raw_sequence.isdigit() or int(raw_sequence) < 1:
        return None, CsvProblem(
            line, gettext_noop("Sequence '%(sequence)s' is not a positive whole number."), {"sequence": raw_sequence}
        )
    sequence = int(raw_sequence)
    if arm not in known_arms:
        return None, CsvProblem(
            line,
            gettext_noop("Unknown arm '%(arm)s'; the arms are %(arms)s."),
            {"arm": arm, "arms": ", ".join(sorted(known_arms))},
        )
    if sequence in seen:
        return None, CsvProblem(
            line,
            gettext_noop("Sequence %(sequence)s appears again (first on line %(first)s)."),
            {"sequence": sequence, "first": seen[sequence]},
        )
    seen[sequence] = line
    return AllocatedSlot(sequence, arm, 0, 0), None


def _completeness_problems(seen: dict[int, int], first_sequence: int, had_errors: bool) -> list[CsvProblem]:
    if not seen:
        return [] if had_errors else [CsvProblem(0, gettext_noop("The file has a header but no slots."))]
    expected = set(range(first_sequence, first_sequence + len(seen)))
    missing = sorted(expected - set(seen))
    if set(seen) == expected:
        return []
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        return [
            CsvProblem(
                0,
                gettext_noop("The sequence must run from %(first)s without gaps; missing: %(missing)s."),
                {"first": first_sequence, "missing": shown},
            )
        ]
    return [CsvProblem(0, gettext_noop("The sequence must start at %(first)s."), {"first": first_sequence})]
