"""Benchmarks of the IVF trial data manager: `python -m bench` (or `make bench`) runs every `bench_*.py`.

A benchmark module exposes `run(repeats: int, *, scale: int) -> list[dict]`, one dict per figure
(see `bench.harness.figure`); the harness writes `bench/results/<module>.json` and a README table.
"""
