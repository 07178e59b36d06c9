""" "About this demo": the paper's claims beside what the application computes now, from the latest
statistics snapshot. Nothing is hard-coded here: each claim says where its value lives in the snapshot
(sampledata.paper_claims.PAPER_CLAIMS) and is judged against the value found there at request time."""

from dataclasses import dataclass

from django.shortcuts import render

from analysis.selectors import latest_snapshot
from core.selectors import arm_results_visible
from sampledata.paper_claims import DEMO_DESCRIPTION, PAPER_CLAIMS, PaperClaim, claim_holds, claim_live

REPRODUCED, NOT_REPRODUCED, INVENTED = "reproduced", "not reproduced", "invented"


@dataclass(frozen=True)
class ClaimRow:
    claim: PaperClaim
    live: str  # "" when the snapshot holds no value there (e.g. the data were changed)
    verdict: str


def claim_rows(payload: dict) -> list[ClaimRow]:
    rows = []
    for claim in PAPER_CLAIMS:
        try:
            live = claim_live(claim, payload)
        except (KeyError, StopIteration, TypeError, ArithmeticError, ValueError):
            live = ""
        holds = bool(live) and claim_holds(claim, live)
        verdict = INVENTED if not claim.published else (REPRODUCED if holds else NOT_REPRODUCED)
        rows.append(ClaimRow(claim, live, verdict))
    return rows


def about_view(request):
    snapshot = latest_snapshot()
    visible = arm_results_visible(request.user, request=request)
    rows = claim_rows(snapshot.payload) if snapshot is not None and visible else []
    groups = [
        (verdict, [r for r in rows if r.verdict == verdict]) for verdict in (REPRODUCED, NOT_REPRODUCED, INVENTED)
    ]
    context = {
        "description": DEMO_DESCRIPTION,
        "snapshot": snapshot,
        "arm_results_visible": visible,
        "groups": groups,
        "counts": {verdict: len(items) for verdict, items in groups},
        "not_reproduced": sum(1 for r in rows if r.verdict == NOT_REPRODUCED),
    }
    return render(request, "sampledata/about.html", context)
