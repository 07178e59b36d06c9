"""Synthetic trials for benchmarks and load tests (`manage.py generate_synthetic`).

`enrolment` and `clinical` decide what every form says (pure, deterministic for a seed); `writer` turns
that into COPY rows (core.bulk_copy); `service.synthetic_trial_generate` checks the database is safe to fill
and writes everything in one transaction under one audit context.
"""
