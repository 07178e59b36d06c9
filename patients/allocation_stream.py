"""The random draws behind permuted blocks: the v2 HMAC-SHA256 stream, and v1 kept for lists made before it.

Pure (no Django). The derivation of v2 is written out in README "Randomization" with a test vector, so a
statistician outside the system can regenerate a list from its recorded seed and check its SHA-256:

- The seed is 32 bytes from the server's `secrets`, recorded as 64 lowercase hex digits.
- The stream is HMAC-SHA256(key = the 32 seed bytes, message = the counter as 8 bytes, unsigned big-endian)
  for counter 0, 1, 2, …, the 32-byte outputs concatenated.
- A uniform integer in [0, n) reads the stream's next 4 bytes as an unsigned big-endian integer x; if
  x < 2**32 - (2**32 mod n) it is x mod n, otherwise x is discarded and the next 4 bytes are read
  (rejection sampling: no value is more likely than another).

HMAC is a pseudorandom function of its key, so observed allocations reveal nothing usable about the seed
or the slots still to come (v1's Mersenne Twister seeded with a person's number did: a search over
date-shaped seeds found it in seconds).
"""

import hashlib
import hmac
import random
import secrets
from collections.abc import MutableSequence, Sequence

HMAC_SHA256_V2 = "hmac-sha256-v2"
MT19937_V1 = "mt19937-v1"  # lists generated before v2 keep (and extend with) it
GENERATORS = (HMAC_SHA256_V2, MT19937_V1)
SEED_BYTES = 32
_WORD = 4
_WORD_RANGE = 2**32


class SeedError(ValueError):
    """A recorded seed that does not fit its generator."""


def new_seed() -> str:
    """A fresh v2 seed: 256 bits from the operating system's CSPRNG, as 64 lowercase hex digits."""
    return secrets.token_hex(SEED_BYTES)


def fixed_seed(label: str) -> str:
    """A v2 seed derived from a label (SHA-256 of its UTF-8): only for demo and synthetic data, which must be
    reproducible; lists made this way record that their seed was fixed."""
    return hashlib.sha256(label.encode("utf-8")).hexdigest()


def seed_bytes(seed: str) -> bytes:
    """The 32 key bytes of a v2 seed written as 64 lowercase hex digits."""
    if not isinstance(seed, str) or len(seed) != 2 * SEED_BYTES or seed.strip("0123456789abcdef"):
        raise SeedError(f"A {HMAC_SHA256_V2} seed is {2 * SEED_BYTES} lowercase hex digits.")
    return bytes.fromhex(seed)


class HmacStream:
    """Deterministic draws from HMAC-SHA256 in counter mode (see the module docstring)."""

    def __init__(self, seed: str):
        self._key = seed_bytes(seed)
        self._counter = 0
        self._buffer = b""

    def _word(self) -> int:
        if not self._buffer:
            message = self._counter.to_bytes(8, "big")
            self._buffer = hmac.new(self._key, message, hashlib.sha256).digest()
            self._counter += 1
        word, self._buffer = self._buffer[:_WORD], self._buffer[_WORD:]
        return int.from_bytes(word, "big")

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), by rejection sampling of 32-bit words."""
        if not 1 <= n <= _WORD_RANGE:
            raise ValueError("n must be between 1 and 2**32")
        limit = _WORD_RANGE - _WORD_RANGE % n
        while True:
            x = self._word()
            if x < limit:
                return x % n

    def choice(self, options: Sequence):
        return options[self.below(len(options))]

    def shuffle(self, items: MutableSequence) -> None:
        """Fisher–Yates from the end: for i = k−1 down to 1, swap items[i] with items[below(i + 1)]."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def legacy_stream(seed: int) -> random.Random:
    """v1: Python's Mersenne Twister (`choice`, `shuffle`), stable across Python versions for these calls."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SeedError(f"A {MT19937_V1} seed is a whole number.")
    return random.Random(seed)


def stream(generator: str, seed: str | int):
    """The draws of a generator version from its recorded seed (`choice` and `shuffle`)."""
    if generator == HMAC_SHA256_V2:
        return HmacStream(seed)
    if generator == MT19937_V1:
        return legacy_stream(seed)
    raise SeedError(f"Unknown generator {generator!r}; known: {', '.join(GENERATORS)}.")
