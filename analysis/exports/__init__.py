"""Analysis data sets for export: their columns (the data dictionary) and their rows, streamed. No HTTP.

Every row is de-identified (PatientIdentity is never read: no name, MRN, date of birth or phone),
limited to the sites the user may read (`core.access.site_filter`), free of voided records, and in
column order with plain values: booleans 0/1, decimals as floats, dates ISO 8601, times ISO 8601 in
UTC ("Z"), missing as None (empty in CSV, null in JSON). In CSV a text cell that a spreadsheet would
run as a formula gets a leading `'` (`csv_rows_of`, core.csv_safety); JSON keeps it as entered. When
results are blinded and the user lacks unblinded access, `arm` is left empty, as on the dashboards.

Data sets:
- `patients`: one analysis-ready row per randomized patient (ITT, allocated arm), built from
  `analysis.selectors.analysis_rows()` (the rows the statistics use: a few queries, memory bounded
  by the number of randomized patients). Lab columns hold the value the statistics use, in canonical
  units: a value below the detection limit is half the limit, one above the measuring range the limit.
- `lab-results`: one row per active result (long format), as entered and in canonical units.
- `adverse-events`: one row per active adverse event.
- `questionnaires`: one row per active questionnaire response, wide over both instruments: each
  score as `<instrument>_<scale>` and each item answer as `<instrument>_item_<key>` (the option
  number printed on the form; SSRS 6 and 7 count sources). Columns of the other instrument are empty.

The modules, by concern:
- `dictionary`: the columns of each data set (names, labels, types, units, allowed values);
- `builders`: the rows of each data set, from server-side cursors, every value as exported (`cell`);
- `datasets`: the public entry (`DATASETS`, `columns`, `rows`, `csv_rows_of`), which also blinds `arm`;
- `encoded`: lab-results encoded by PostgreSQL itself (`copy_statement`), byte for byte as `rows`;
- `audit`: every export recorded in `ExportLog` (`export_log_start`, `export_log_finish`).
The CSV and JSON writers that stream these rows over HTTP are in analysis/export_api.py.
"""

from analysis.exports.audit import export_log_finish, export_log_start
from analysis.exports.builders import lab_results_queryset
from analysis.exports.datasets import DATASETS, UnknownDataset, columns, csv_rows_of, row_counts, rows
from analysis.exports.dictionary import Column
from analysis.exports.encoded import copy_statement

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
    "row_counts",
    "rows",
]
