"""Allocation sequences, pure: reproducible from the seed, balanced blocks, unpredictable v2 draws, the v1
generator kept exactly for old lists, strict CSV validation."""

import hashlib
import hmac
from collections import Counter
from itertools import groupby

import pytest

from patients.allocation import AllocatedSlot, parse_allocation_csv, permuted_blocks, sequence_sha256
from patients.allocation_stream import MT19937_V1, HmacStream, SeedError, fixed_seed, new_seed

# The arms in the order the trial configuration lists them (core.Arm.order), as the services pass them.
ARM_ORDER = ("CTRL", "EXP")

ARMS = {"CTRL", "EXP"}
SEED = fixed_seed("tests: pure allocation")


def _arms(slots) -> str:
    return "".join(s.arm[0] for s in slots)


def test_same_seed_and_parameters_reproduce_the_list_and_its_hash():
    first = permuted_blocks(arms=ARM_ORDER, seed=SEED, length=200)
    again = permuted_blocks(arms=ARM_ORDER, seed=SEED, length=200)
    assert first == again
    assert sequence_sha256(first) == sequence_sha256(again)
    other = permuted_blocks(arms=ARM_ORDER, seed=fixed_seed("tests: another list"), length=200)
    assert [s.arm for s in other] != [s.arm for s in first]
    assert sequence_sha256(other) != sequence_sha256(first)


def test_server_seeds_are_256_bits_of_hex_and_never_repeat():
    seeds = {new_seed() for _ in range(1000)}
    assert len(seeds) == 1000
    assert all(len(seed) == 64 and int(seed, 16) >= 0 and seed == seed.lower() for seed in seeds)
    # 1000 seeds of 256 random bits: each bit position takes both values (a constant bit would be a flaw)
    bits = [int(seed, 16) for seed in seeds]
    assert all(any(b >> i & 1 for b in bits) and not all(b >> i & 1 for b in bits) for i in range(256))


@pytest.mark.parametrize("seed", ["", "abc", "G" * 64, SEED.upper(), SEED + "00", 12345])
def test_a_v2_seed_must_be_64_lowercase_hex_digits(seed):
    with pytest.raises(SeedError):
        permuted_blocks(arms=ARM_ORDER, seed=seed, length=10)


def test_the_v2_stream_is_hmac_sha256_of_an_eight_byte_big_endian_counter():
    key = bytes.fromhex(SEED)
    first_two = b"".join(hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha256).digest() for counter in (0, 1))
    words = [int.from_bytes(first_two[i : i + 4], "big") for i in range(0, 64, 4)]
    stream = HmacStream(SEED)
    assert [stream.below(2**32) for _ in range(16)] == words  # n = 2**32 never rejects: the raw words


def test_uniform_draws_reject_the_biased_tail():
    # n = 3 * 2**30: words at or above 3 * 2**30 would make small results more likely; they are skipped.
    stream, raw = HmacStream(SEED), HmacStream(SEED)
    n = 3 * 2**30
    expected = [w for w in (raw.below(2**32) for _ in range(64)) if w < n][:10]
    assert [stream.below(n) for _ in range(10)] == expected


def test_draws_below_n_are_uniform():
    stream = HmacStream(SEED)
    counts = Counter(stream.below(6) for _ in range(60_000))
    # chi-square with 5 degrees of freedom; 20.5 is its 0.999 quantile
    assert sum((c - 10_000) ** 2 / 10_000 for c in counts.values()) < 20.5 and len(counts) == 6


@pytest.mark.parametrize("seed", [fixed_seed(f"tests: blocks {n}") for n in range(4)])
def test_every_block_is_balanced_and_of_an_allowed_size(seed):
    slots = permuted_blocks(arms=ARM_ORDER, seed=seed, length=203, block_sizes=(2, 4))
    assert [s.sequence for s in slots] == list(range(1, 204))
    blocks = [list(block) for _, block in groupby(slots, key=lambda s: s.block_number)]
    assert len(blocks[-1]) <= blocks[-1][0].block_size  # only the last block may be cut short
    sizes_seen = set()
    for block in blocks[:-1]:
        assert len(block) == block[0].block_size in (2, 4)
        sizes_seen.add(len(block))
        assert Counter(s.arm for s in block) == {"CTRL": len(block) // 2, "EXP": len(block) // 2}
    assert sizes_seen == {2, 4}  # both sizes occur: block size is itself random


def test_unequal_ratio_blocks_follow_the_ratio():
    slots = permuted_blocks(arms=ARM_ORDER, seed=SEED, length=60, block_sizes=(3, 6), ratio=(1, 2))
    blocks = [list(block) for _, block in groupby(slots, key=lambda s: s.block_number)]
    for block in blocks[:-1]:  # the last block may be cut short
        counts = Counter(s.arm for s in block)
        assert counts["EXP"] == 2 * counts["CTRL"]


def test_a_longer_list_from_the_same_seed_extends_the_shorter_one():
    short = permuted_blocks(arms=ARM_ORDER, seed=SEED, length=50)
    assert permuted_blocks(arms=ARM_ORDER, seed=SEED, length=120)[: len(short)] == short
    legacy = permuted_blocks(arms=ARM_ORDER, seed=11, length=50, generator=MT19937_V1)
    assert permuted_blocks(arms=ARM_ORDER, seed=11, length=120, generator=MT19937_V1)[:50] == legacy


def test_v1_lists_are_drawn_exactly_as_before_server_seeds():
    """The Mersenne Twister path is kept for lists made before v2: pinned to what the old code drew."""
    slots = permuted_blocks(arms=ARM_ORDER, seed=20260301, length=40, generator=MT19937_V1)
    assert _arms(slots) == "EECCCCEEECCECECEECCEECCEECECECECCECEECEC"
    assert [(s.block_number, s.block_size) for s in slots[:10]] == [(1, 4)] * 4 + [(2, 4)] * 4 + [(3, 2)] * 2


def test_the_same_number_gives_unrelated_lists_under_v1_and_a_fixed_v2_seed():
    assert _arms(permuted_blocks(arms=ARM_ORDER, seed=fixed_seed("20260301"), length=40)) != _arms(
        permuted_blocks(arms=ARM_ORDER, seed=20260301, length=40, generator=MT19937_V1)
    )


def test_hash_is_sha256_of_the_canonical_text():
    slots = [AllocatedSlot(2, "EXP", 1, 2), AllocatedSlot(1, "CTRL", 1, 2)]
    assert sequence_sha256(slots) == hashlib.sha256(b"1,CTRL\n2,EXP\n").hexdigest()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_sizes": (3,)}, "multiple of 2"),
        ({"block_sizes": ()}, "multiple of 2"),
        ({"length": 0}, "between 1 and"),
        ({"arms": ("CTRL", "CTRL")}, "each arm once"),
        ({"generator": "xorshift-v0"}, "Unknown generator"),
    ],
)
def test_impossible_designs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        permuted_blocks(seed=SEED, **{"length": 10, "arms": ARM_ORDER, **kwargs})


def test_a_good_csv_is_read_in_sequence_order():
    slots, problems = parse_allocation_csv(b"sequence,arm\n2,EXP\n1,CTRL\n3,EXP\n4,CTRL\n", known_arms=ARMS)
    assert problems == []
    assert [(s.sequence, s.arm) for s in slots] == [(1, "CTRL"), (2, "EXP"), (3, "EXP"), (4, "CTRL")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", [(0, "The file is empty.")]),
        (b"seq,arm\n1,CTRL\n", [(1, "The header must be exactly: sequence,arm.")]),
        (b"sequence,arm\n", [(0, "The file has a header but no slots.")]),
        (b"sequence,arm\n1,CTRL\n2,PLACEBO\n", [(3, "Unknown arm 'PLACEBO'; the arms are CTRL, EXP.")]),
        (b"sequence,arm\n1,CTRL\n1,EXP\n", [(3, "Sequence 1 appears again (first on line 2).")]),
        (b"sequence,arm\n1,CTRL\nx,EXP\n", [(3, "Sequence 'x' is not a positive whole number.")]),
        (b"sequence,arm\n1,CTRL,extra\n", [(2, "Expected 2 columns, found 3.")]),
        (b"sequence,arm\n1,CTRL\n3,EXP\n", [(0, "The sequence must run from 1 without gaps; missing: 2.")]),
        (b"\xff\xfe\x00s", [(0, "The file is not UTF-8 text.")]),
    ],
)
def test_every_bad_csv_is_refused_with_line_and_reason(content, expected):
    slots, problems = parse_allocation_csv(content, known_arms=ARMS)
    assert slots == []
    assert [(p.row, p.message) for p in problems] == expected


def test_all_bad_rows_are_reported_not_only_the_first():
    content = b"sequence,arm\n1,CTRL\n2,XX\n3,EXP\n3,EXP\n5,CTRL\n"
    _, problems = parse_allocation_csv(content, known_arms=ARMS)
    assert [p.row for p in problems] == [3, 5, 0]


def test_an_extension_file_must_continue_the_sequence():
    slots, problems = parse_allocation_csv(b"sequence,arm\n5,CTRL\n6,EXP\n", known_arms=ARM_ORDER, first_sequence=5)
    assert problems == [] and [s.sequence for s in slots] == [5, 6]
    _, problems = parse_allocation_csv(b"sequence,arm\n1,CTRL\n2,EXP\n", known_arms=ARM_ORDER, first_sequence=5)
    assert problems and "from 5" in problems[0].message
