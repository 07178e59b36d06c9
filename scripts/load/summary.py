"""After the run: every write accounted for against the database, and the table of what the clients saw."""

import statistics

from load.clients import Tally
from load.common import WRITES


def account(tally: Tally, before: dict, after: dict) -> list[str]:
    """Mismatches between the 2xx writes the clients saw and the rows the database gained."""
    problems = []
    new_ids = after["register"] - before["register"]
    if new_ids != tally.registered or len(new_ids) != tally.ok["register"]:
        problems.append(
            f"registrations: {tally.ok['register']} answered 201, {len(new_ids)} new patients "
            f"({len(new_ids ^ tally.registered)} study ids differ)"
        )
    for kind in WRITES[1:]:
        gained = after[kind] - before[kind]
        if gained != tally.ok[kind]:
            problems.append(f"{kind}: {tally.ok[kind]} answered 2xx, {gained} rows in the database")
    return problems


def report(tally: Tally, seconds: float, problems: list[str], audit_ok: bool, args) -> dict:
    rows = []
    for kind in sorted(tally.latencies):
        values = sorted(tally.latencies[kind])
        rows.append(
            {
                "kind": kind,
                "requests": len(values),
                "ok": tally.ok[kind],
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(values[int(0.95 * (len(values) - 1))] * 1000, 1),
                "max_ms": round(values[-1] * 1000, 1),
            }
        )
    total = sum(r["requests"] for r in rows)
    writes = sum(tally.ok[kind] for kind in WRITES)
    summary = {
        "seconds": round(seconds, 1),
        "mode": "debug" if args.debug else "production",
        "clients": {"writers": args.writers, "readers": args.readers, "dashboards": args.dashboards},
        "requests": total,
        "requests_per_second": round(total / seconds, 1) if seconds else 0,
        "writes_2xx": writes,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:10],
        "accounting_problems": problems,
        "audit_chain_verified": audit_ok,
        "by_kind": rows,
    }
    print(f"\n{'kind':<20}{'requests':>10}{'2xx':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for r in rows:
        print(f"{r['kind']:<20}{r['requests']:>10}{r['ok']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}")
    print(
        f"\n{total} requests in {summary['seconds']} s ({summary['requests_per_second']}/s), {writes} writes "
        f"answered 2xx, {len(tally.errors)} errors; every write accounted for: {not problems}; "
        f"audit chain verified: {audit_ok}"
    )
    for line in summary["error_samples"] + problems:
        print(f"  ! {line}")
    return summary
