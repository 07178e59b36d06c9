"""Pure statistics for the trial dashboard (SPEC §5): plain values in, frozen dataclasses out.

No Django, no database: numpy and scipy only. Every comparison is EXP vs CTRL (differences EXP − CTRL,
ratios EXP / CTRL). Results never contain NaN or infinity: undefined quantities are ``None`` so that
``json.dumps(result.as_dict(), allow_nan=False)`` always succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))
MIN_EXPECTED_FOR_CHI2 = 5


def _finite(value) -> float | None:
    """Convert a (numpy) number to a Python float, mapping None, NaN and ±inf to None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% confidence interval."""

    estimate: float | None
    lo: float | None
    hi: float | None

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "ci95": [self.lo, self.hi]}


_UNDEFINED = Estimate(None, None, None)


def _estimate(estimate, lo, hi) -> Estimate:
    """Build an Estimate from possibly-numpy, possibly-non-finite numbers."""
    return Estimate(_finite(estimate), _finite(lo), _finite(hi))


# --- Binary outcomes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    """Events out of n with a Wilson score 95% CI."""

    events: int
    n: int
    proportion: float | None
    lo: float | None
    hi: float | None

    def as_dict(self) -> dict:
        return {"events": self.events, "n": self.n, "proportion": self.proportion, "ci95": [self.lo, self.hi]}


@dataclass(frozen=True)
class BinaryComparison:
    """EXP vs CTRL: risk difference, risk ratio, odds ratio and a chi² or Fisher p-value."""

    risk_difference: Estimate
    risk_ratio: Estimate
    odds_ratio: Estimate
    test: str
    p_value: float

    def as_dict(self) -> dict:
        return {
            "risk_difference": self.risk_difference.as_dict(),
            "risk_ratio": self.risk_ratio.as_dict(),
            "odds_ratio": self.odds_ratio.as_dict(),
            "test": self.test,
            "p_value": self.p_value,
        }


def _check_counts(events: int, n: int) -> None:
    """Reject impossible counts (negative, or more events than participants)."""
    if n < 0 or events < 0 or events > n:
        raise ValueError(f"invalid counts: events={events}, n={n}")


def proportion_summary(events: int, n: int) -> Proportion:
    """Proportion with the Wilson score 95% confidence interval."""
    events, n = int(events), int(n)
    _check_counts(events, n)
    if n == 0:
        return Proportion(events, n, None, None, None)
    p = events / n
    z2 = Z95**2
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return Proportion(events, n, p, max(0.0, centre - half), min(1.0, centre + half))


def _newcombe_difference(exp: Proportion, ctrl: Proportion) -> Estimate:
    """Risk difference with the Newcombe (1998, method 10) hybrid score 95% CI from two Wilson intervals."""
    if exp.proportion is None or ctrl.proportion is None:
        return _UNDEFINED
    p1, l1, u1 = exp.proportion, exp.lo, exp.hi
    p2, l2, u2 = ctrl.proportion, ctrl.lo, ctrl.hi
    difference = p1 - p2
    lo = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _estimate(difference, lo, hi)


def _log_scale(estimate: float, se: float) -> Estimate:
    """Ratio estimate with a 95% CI symmetric on the log scale."""
    log_estimate = math.log(estimate)
    return _estimate(estimate, math.exp(log_estimate - Z95 * se), math.exp(log_estimate + Z95 * se))


def _ratios(a: float, b: float, c: float, d: float) -> tuple[Estimate, Estimate]:
    """Katz risk ratio and Woolf odds ratio with log-scale 95% CIs; 0.5 is added to every cell if any is zero."""
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    risk_ratio = (a / (a + b)) / (c / (c + d))
    rr_se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    odds_ratio = (a * d) / (b * c)
    or_se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return _log_scale(risk_ratio, rr_se), _log_scale(odds_ratio, or_se)


def _p_value(table: list[list[int]]) -> tuple[str, float]:
    """Pearson χ² (no continuity correction) when every expected count is ≥ 5, otherwise Fisher's exact test."""
    rows = [sum(row) for row in table]
    columns = [table[0][j] + table[1][j] for j in range(2)]
    total = sum(rows)
    if 0 in rows or 0 in columns:
        # A zero margin leaves a single table compatible with the margins: χ² is undefined (an expected count
        # is 0) and Fisher's exact p is trivially 1 — report that rather than NaN.
        return "fisher", 1.0
    # Integer comparison (row·column ≥ 5·N) avoids floating-point doubt exactly at the boundary.
    if min(r * c for r in rows for c in columns) >= MIN_EXPECTED_FOR_CHI2 * total:
        return "chi2", float(stats.chi2_contingency(table, correction=False).pvalue)
    return "fisher", float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def compare_proportions(events_exp: int, n_exp: int, events_ctrl: int, n_ctrl: int) -> BinaryComparison:
    """EXP vs CTRL: Newcombe risk difference, Katz risk ratio, Woolf odds ratio, χ²/Fisher p-value."""
    exp, ctrl = proportion_summary(events_exp, n_exp), proportion_summary(events_ctrl, n_ctrl)
    a, b = exp.events, exp.n - exp.events
    c, d = ctrl.events, ctrl.n - ctrl.events
    if exp.n == 0 or ctrl.n == 0 or a + c == 0:
        # No events in either arm: no ratio is estimable (the 0.5 correction would invent one).
        risk_ratio = odds_ratio = _UNDEFINED
    else:
        risk_ratio, odds_ratio = _ratios(a, b, c, d)
        if b + d == 0:  # every patient had the event: odds are infinite in both arms
            odds_ratio = _UNDEFINED
    test, p_value = _p_value([[a, b], [c, d]])
    return BinaryComparison(_newcombe_difference(exp, ctrl), risk_ratio, odds_ratio, test, p_value)


# --- Continuous outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Description:
    """Descriptive statistics of one arm's continuous values."""

    n: int
    missing: int
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    min: float | None = None
    max: float | None = None

    def as_dict(self) -> dict:
        keys = ("n", "missing", "mean", "sd", "median", "q1", "q3", "min", "max")
        return {key: getattr(self, key) for key in keys}


@dataclass(frozen=True)
class ContinuousComparison:
    """EXP vs CTRL: mean difference with Welch CI, Welch's t-test and Mann–Whitney U p-values."""

    mean_difference: Estimate
    p_value: float | None
    mann_whitney_p: float | None
    test: str = "welch_t"

    def as_dict(self) -> dict:
        return {
            "mean_difference": self.mean_difference.as_dict(),
            "test": self.test,
            "p_value": self.p_value,
            "mann_whitney_p": self.mann_whitney_p,
        }


def _is_missing(value) -> bool:
    """None or NaN counts as missing."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _present(values: Sequence[float | None]) -> np.ndarray:
    """The non-missing values as a float array."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values[~np.isnan(values)]  # the same values in the same order, without a Python loop
    return np.array([float(v) for v in values if not _is_missing(v)], dtype=float)


def describe(values: Sequence[float | None]) -> Description:
    """Mean, SD (n − 1), median, quartiles (linear interpolation), min and max of the non-missing values."""
    data = _present(values)
    n = int(data.size)
    missing = len(values) - n
    if n == 0:
        return Description(n, missing)
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    sd = _finite(np.std(data, ddof=1)) if n >= 2 else None
    quartiles = {"q1": _finite(q1), "median": _finite(median), "q3": _finite(q3)}
    return Description(
        n, missing, _finite(data.mean()), sd, min=_finite(data.min()), max=_finite(data.max()), **quartiles
    )


def _welch(exp: np.ndarray, ctrl: np.ndarray) -> tuple[Estimate, float | None]:
    """Mean difference with the Welch 95% CI, and the two-sided Welch t-test p (Welch–Satterthwaite df).

    Computed here rather than by scipy's ttest_ind, which warns through `warnings` when the arms are nearly
    constant: silencing that needs warnings.catch_warnings, which is not thread-safe (the populations'
    statistics run in threads). Same formulas; scipy's p is kept for two constant arms (0 when they differ).
    """
    difference = exp.mean() - ctrl.mean()
    v_exp, v_ctrl = exp.var(ddof=1) / exp.size, ctrl.var(ddof=1) / ctrl.size
    se2 = v_exp + v_ctrl
    if not se2 > 0:  # both arms constant: df is 0/0 and the interval undefined
        return _estimate(difference, None, None), (0.0 if difference != 0 else None)
    df = se2**2 / (v_exp**2 / (exp.size - 1) + v_ctrl**2 / (ctrl.size - 1))
    se = math.sqrt(se2)
    half = stats.t.ppf(0.975, df) * se
    p_value = 2 * stats.t.sf(abs(difference) / se, df)
    return _estimate(difference, difference - half, difference + half), _finite(p_value)


def compare_means(exp: Sequence[float], ctrl: Sequence[float]) -> ContinuousComparison:
    """EXP vs CTRL: Welch mean difference and t-test, plus the two-sided Mann–Whitney U test."""
    exp_data, ctrl_data = _present(exp), _present(ctrl)
    if exp_data.size < 2 or ctrl_data.size < 2:
        return ContinuousComparison(_UNDEFINED, None, None)
    with np.errstate(all="ignore"):  # context-local, unlike warnings.catch_warnings: safe in threads
        difference, welch_p = _welch(exp_data, ctrl_data)
        mann_whitney = stats.mannwhitneyu(exp_data, ctrl_data, alternative="two-sided")
    return ContinuousComparison(difference, welch_p, _finite(mann_whitney.pvalue))
