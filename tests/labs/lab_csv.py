"""Building and reading lab CSV files for the labs.import_csv tests: the header line, a good row with any
field replaced, bytes with a chosen newline, BOM and encoding, and the parser called with the test
analytes and time points."""

from zoneinfo import ZoneInfo

from labs.import_csv import parse_lab_csv
from tests.labs.test_validation import SPECS, TIMEPOINTS

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER_LINE = "study_id,timepoint,drawn_at,analyte,value,unit"
BOM = "\ufeff"


def csv_bytes(*lines: str, newline: str = "\r\n", bom: bool = False, encoding: str = "utf-8") -> bytes:
    return ((BOM if bom else "") + "".join(line + newline for line in lines)).encode(encoding)


def parse(content: bytes, default_tz=SHANGHAI):
    return parse_lab_csv(content, specs=SPECS, timepoints=TIMEPOINTS, default_tz=default_tz)


def good_line(
    study_id="P001", timepoint="BASELINE", drawn_at="2025-03-14 08:30", analyte="FSH", value="7.2", unit="IU/L"
):
    return ",".join([study_id, timepoint, drawn_at, analyte, value, unit])
