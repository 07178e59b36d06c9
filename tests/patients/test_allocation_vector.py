"""The README's derivation of v2 lists and its test vector are the code's: read from README.md, not copied."""

import re
from pathlib import Path

from patients.allocation import permuted_blocks

# The arms in the order the trial configuration lists them (core.Arm.order), as the services pass them.
ARMS = ("CTRL", "EXP")

README = Path(__file__).resolve().parents[2] / "README.md"


def _randomization_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Randomization\n")
    return text[start : text.index("\n## ", start + 1)]


def _vector() -> tuple[str, list[str], list[int]]:
    section = _randomization_section()
    seed = re.search(r"- seed: `([0-9a-f]+)`", section).group(1)
    arms = re.search(r"- first 20 arms: `([A-Z ]+)`", section).group(1).split()
    sizes = [int(size) for size in re.search(r"- their block sizes: `([0-9 ]+)`", section).group(1).split()]
    return seed, arms, sizes


def _reference():
    """The README's reference implementation, run as written."""
    code = re.search(r"```python\n(.*?)```", _randomization_section(), re.S).group(1)
    namespace: dict = {}
    exec(compile("\n".join(line.removeprefix("  ") for line in code.splitlines()), "README.md", "exec"), namespace)
    return namespace["reference_arms"]


def test_the_readme_vector_is_what_the_generator_draws():
    seed, arms, sizes = _vector()
    assert len(seed) == 64 and len(arms) == len(sizes) == 20
    slots = permuted_blocks(seed=seed, length=20, block_sizes=(2, 4), arms=("CTRL", "EXP"), ratio=(1, 1))
    assert [s.arm for s in slots] == arms
    assert [s.block_size for s in slots] == sizes


def test_the_readme_reference_implementation_agrees_with_the_generator():
    seed, arms, _ = _vector()
    reference_arms = _reference()
    assert reference_arms(seed, 20) == arms
    for sizes, ratio in [((2, 4), (1, 1)), ((3, 6), (1, 2)), ((4, 8, 12), (1, 1))]:
        expected = [s.arm for s in permuted_blocks(arms=ARMS, seed=seed, length=500, block_sizes=sizes, ratio=ratio)]
        assert reference_arms(seed, 500, sizes=sizes, ratio=ratio) == expected
