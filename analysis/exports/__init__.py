"""Analysis data sets for export (analysis/exports/datasets.py); the names other modules import."""

from analysis.exports.datasets import (
    DATASETS,
    Column,
    UnknownDataset,
    columns,
    copy_statement,
    csv_rows_of,
    export_log_finish,
    export_log_start,
    lab_results_queryset,
    rows,
)

__all__ = [
    "DATASETS",
    "Column",
    "UnknownDataset",
    "columns",
    "copy_statement",
    "csv_rows_of",
    "export_log_finish",
    "export_log_start",
    "lab_results_queryset",
    "rows",
]
