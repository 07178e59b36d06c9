"""Shape a stored snapshot for the dashboard page and its CSV downloads (no computation of statistics)."""

from collections import defaultdict
from collections.abc import Callable

from analysis.snapshot import population_view
from core.csv_safety import csv_cells


def _pool_safety(safety: dict) -> dict:
    """Blinded users see adverse events over all arms only."""
    terms = []
    for term in safety["terms"]:
        events = sum(cell["events"] for cell in term["by_arm"].values())
        patients = sum(cell["patients"] for cell in term["by_arm"].values())
        terms.append({"term": term["term"], "by_arm": {"POOLED": {"events": events, "patients": patients}}})
    return {"terms": terms, "serious": [{**s, "arm": "POOLED"} for s in safety["serious"]]}


def _pool_education(rows: list[dict]) -> list[dict]:
    return [{"level": r["level"], "by_arm": {"POOLED": sum(r["by_arm"].values())}} for r in rows]


def _grouped(entries: list[dict], prefix: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        if entry["key"].startswith(prefix):
            groups[entry["key"].split(".")[1 if prefix == "lab." else 2]].append(entry)
    return dict(groups)


def _charts(view: dict, by_arm: bool) -> dict:
    arm_codes = [a["code"] for a in view["arms"]]
    figures = "by_arm" if by_arm else "pooled"

    def per_arm(entry):
        return entry[figures] if by_arm else {"POOLED": entry["pooled"]}

    return {
        "arms": arm_codes,
        "forest": [
            {"key": e["key"], "label": e["label"], **e["risk_ratio"]}
            for e in view["binary"]
            if by_arm and e["risk_ratio"]["estimate"] is not None
        ],
        "boxes": {e["key"]: per_arm(e) for e in view["continuous"] if e["key"].startswith("lab.")},
        "qol": {
            e["key"]: per_arm(e) for e in view["continuous"] if e["key"].startswith("qol.") and "-" not in e["key"]
        },
    }


def dashboard_context(snapshot, *, population: str, by_arm: bool, stale: bool) -> dict:
    """Everything the dashboard template needs, from the stored payload only."""
    if snapshot is None:
        return {"snapshot": None, "stale": True, "population": population, "by_arm": by_arm}
    payload = snapshot.payload
    view = population_view(payload[population], by_arm=by_arm)
    extras = payload["dashboard"]
    return {
        "snapshot": snapshot,
        "stale": stale,
        "population": population,
        "by_arm": by_arm,
        "stats": view,
        "arm_codes": [a["code"] for a in view["arms"]],
        "table1": [e for e in view["continuous"] if e["key"].startswith("baseline.")],
        "education": extras["education"] if by_arm else _pool_education(extras["education"]),
        "outcomes": view["binary"],
        "labs": _grouped(view["continuous"], "lab."),
        "questionnaires": [e for e in view["continuous"] if e["key"].startswith("qol.")],
        "consort": extras["consort"],
        "enrollment": extras["enrollment"],
        "safety": extras["safety"] if by_arm else _pool_safety(extras["safety"]),
        "completeness": extras["completeness"],
        "charts": _charts(view, by_arm),
    }


# --- CSV downloads: one function per table, (header, rows) from the same context ----------------------

DESCRIBE = ["n", "missing", "mean", "sd", "median", "q1", "q3", "min", "max"]


def _continuous_table(entries: list[dict], arms: list[str], by_arm: bool):
    header = ["key", "label"]
    header += [f"{arm}_{stat}" for arm in arms for stat in DESCRIBE] if by_arm else [f"pooled_{s}" for s in DESCRIBE]
    if by_arm:
        header += ["mean_difference", "ci95_low", "ci95_high", "p_value", "mann_whitney_p"]
    rows = []
    for e in entries:
        row = [e["key"], e["label"]]
        if by_arm:
            row += [e["by_arm"][arm][s] for arm in arms for s in DESCRIBE]
            md = e["mean_difference"]
            row += [md["estimate"], *md["ci95"], e["p_value"], e["mann_whitney_p"]]
        else:
            row += [e["pooled"][s] for s in DESCRIBE]
        rows.append(row)
    return header, rows


def _outcomes_table(context):
    arms, by_arm = context["arm_codes"], context["by_arm"]
    header = ["key", "label"]
    header += (
        [f"{a}_{s}" for a in arms for s in ("events", "n", "proportion", "ci95_low", "ci95_high")]
        if by_arm
        else [
            "events",
            "n",
            "proportion",
            "ci95_low",
            "ci95_high",
        ]
    )
    if by_arm:
        header += ["risk_difference", "rd_low", "rd_high", "risk_ratio", "rr_low", "rr_high"]
        header += ["odds_ratio", "or_low", "or_high", "test", "p_value"]
    rows = []
    for e in context["outcomes"]:
        row = [e["key"], e["label"]]
        cells = [e["by_arm"][a] for a in arms] if by_arm else [e["pooled"]]
        for c in cells:
            row += [c["events"], c["n"], c["proportion"], *c["ci95"]]
        if by_arm:
            for name in ("risk_difference", "risk_ratio", "odds_ratio"):
                row += [e[name]["estimate"], *e[name]["ci95"]]
            row += [e["test"], e["p_value"]]
        rows.append(row)
    return header, rows


def _consort_table(context):
    counts = context["consort"]["counts"]
    return ["box", "patients"], [[box, n] for box, n in counts.items()]


def _safety_table(context):
    arms = sorted({arm for t in context["safety"]["terms"] for arm in t["by_arm"]})
    header = ["term", *[f"{a}_{k}" for a in arms for k in ("patients", "events")]]
    rows = [
        [t["term"], *[t["by_arm"].get(a, {}).get(k, 0) for a in arms for k in ("patients", "events")]]
        for t in context["safety"]["terms"]
    ]
    return header, rows


def _enrollment_table(context):
    rows = [[r["month"], "ALL", r["cumulative"]] for r in context["enrollment"]["series"]]
    rows += [[r["month"], r["site"], r["cumulative"]] for r in context["enrollment"]["by_site_series"]]
    return ["month", "site", "cumulative"], rows


def _completeness_table(context):
    forms = context["completeness"]["forms"]
    header = ["site", "randomized", *[f"missing_{f}" for f in forms]]
    rows = [[r["site__code"], r["randomized"], *[r[f] for f in forms]] for r in context["completeness"]["by_site"]]
    return header, rows


def _csv_safe(table: Callable[[dict], tuple[list, list]]) -> Callable[[dict], tuple[list, list[list]]]:
    """The table as its CSV download writes it: a text cell a spreadsheet would run as a formula gets a `'`.

    The cells carry their own types (labels, terms and codes are str; statistics are numbers), so numbers
    are never touched.
    """

    def written(context: dict) -> tuple[list, list[list]]:
        header, rows = table(context)
        return csv_cells([header])[0], csv_cells(rows)

    return written


_TABLES = {
    "table1": lambda c: _continuous_table(c["table1"], c["arm_codes"], c["by_arm"]),
    "outcomes": _outcomes_table,
    "labs": lambda c: _continuous_table([e for v in c["labs"].values() for e in v], c["arm_codes"], c["by_arm"]),
    "questionnaires": lambda c: _continuous_table(c["questionnaires"], c["arm_codes"], c["by_arm"]),
    "consort": _consort_table,
    "safety": _safety_table,
    "enrollment": _enrollment_table,
    "completeness": _completeness_table,
}
# The dashboard's CSV downloads (analysis:table_csv): (header, rows) of each table, ready for csv.writer.
TABLES = {name: _csv_safe(table) for name, table in _TABLES.items()}
