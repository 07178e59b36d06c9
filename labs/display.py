"""Lab values as pages show them: to the decimal places configured per analyte. Pure: no Django.

Display only. The stored canonical value keeps its four places, and the API and the exports return it
whole: rounding here must never feed a calculation, a flag or a comparison.
"""

from decimal import ROUND_HALF_UP, Decimal


def rounded(value: Decimal, decimals: int) -> Decimal:
    """`value` to `decimals` places, halves away from zero as laboratories report them (2.25 → 2.3)."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def lab_value(value: Decimal, decimals: int, censoring: str = "") -> str:
    """A canonical value as text for a page: "764.3", or "<0.05" for a value beyond a limit; never "1E+3".

    A censored value's limit keeps every digit it has: rounded, ">0.06" would read ">0.1", which is false.
    """
    if censoring:
        decimals = max(decimals, -min(value.normalize().as_tuple().exponent, 0))
    return f"{censoring}{rounded(value, decimals):f}"
