"""The parts of the bounded load run; `scripts/load_run.py` is its entry point."""
