"""The export data sets by name: their columns and their rows as `user` may read them (blinding included)."""

from collections.abc import Callable, Iterator

from analysis.exports import builders, dictionary
from analysis.exports.dictionary import Column
from core.csv_safety import csv_rows, text_columns
from core.selectors import arm_results_visible

DATASETS = ("patients", "lab-results", "adverse-events", "questionnaires")
ARM_INDEX = 2  # every data set starts study_id, site, arm


class UnknownDataset(LookupError):
    pass


_COLUMNS: dict[str, Callable[[], list[Column]]] = {
    "patients": dictionary.patient_columns,
    "lab-results": dictionary.lab_columns,
    "adverse-events": dictionary.ae_columns,
    "questionnaires": dictionary.questionnaire_columns,
}
_ROWS: dict[str, Callable[[object], Iterator[list]]] = {
    "patients": builders.patient_rows,
    "lab-results": builders.lab_rows,
    "adverse-events": builders.ae_rows,
    "questionnaires": builders.questionnaire_rows,
}


# The querysets the rows come from, for counting them without producing them.
_SOURCES: dict[str, Callable] = {
    "patients": builders.randomized_patients,
    "lab-results": builders.lab_results,
    "adverse-events": builders.adverse_events,
    "questionnaires": builders.questionnaire_responses,
}


def row_counts(user) -> dict[str, int]:
    """Rows each data set holds for `user` now: one COUNT per data set, over the rows' own querysets."""
    return {dataset: _SOURCES[dataset](user).count() for dataset in DATASETS}


def require_known(dataset: str) -> None:
    if dataset not in DATASETS:
        raise UnknownDataset(f"Unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}.")


def columns(dataset: str) -> list[Column]:
    """The columns of a data set, in export order (trial configuration read from the database)."""
    require_known(dataset)
    return _COLUMNS[dataset]()


def rows(dataset: str, *, user) -> Iterator[list]:
    """The rows of a data set that `user` may read, in column order, produced lazily (constant memory)."""
    require_known(dataset)
    produced = _ROWS[dataset](user)
    if arm_results_visible(user):
        return produced
    return ([*row[:ARM_INDEX], None, *row[ARM_INDEX + 1 :]] for row in produced)


def csv_rows_of(dataset: str, *, user, columns: list[Column]) -> Iterator[list]:
    """`rows()` for a CSV file: text cells that a spreadsheet would run as a formula get a leading `'`.

    Which cells are text is decided by `columns` (the data dictionary's types), so numbers pass untouched.
    """
    return csv_rows(rows(dataset, user=user), text_columns(column.type for column in columns))
