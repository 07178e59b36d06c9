"""The exports page (/dashboard/exports/): the statistician's data sets with their row counts and download
links, the data dictionary, and the latest exports. Everyone else is refused (SPEC §1)."""

import pytest
from django.urls import reverse

from analysis import exports
from analysis.models import ExportLog

pytestmark = pytest.mark.django_db

PAGE = "analysis:exports"


def _links(dataset: str) -> tuple[str, str]:
    return tuple(reverse("api-export", kwargs={"dataset": dataset, "fmt": fmt}) for fmt in ("csv", "json"))


def _logged(user, dataset: str, fmt: str, rows: int, *, completed: bool = True) -> ExportLog:
    log = exports.export_log_start(user=user, dataset=dataset, fmt=fmt)
    exports.export_log_finish(log, rows=rows, completed=completed)
    return log


def test_statistician_sees_every_data_set_with_its_row_count_and_links(client, trial, statistician):
    client.force_login(statistician)
    response = client.get(reverse(PAGE))
    assert response.status_code == 200
    html = response.content.decode()
    shown = {row["name"]: row["rows"] for row in response.context["datasets"]}
    assert list(shown) == list(exports.DATASETS)
    for dataset in exports.DATASETS:
        # The count is what the export itself would send her.
        assert shown[dataset] == len(list(exports.rows(dataset, user=statistician))), dataset
        assert f'data-dataset="{dataset}"' in html
        assert f'data-rows="{shown[dataset]}"' in html
        csv_url, json_url = _links(dataset)
        assert f'href="{csv_url}"' in html
        assert f'href="{json_url}"' in html
    assert shown == {"patients": 3, "lab-results": 5, "adverse-events": 2, "questionnaires": 3}
    assert f'href="{reverse("api-data-dictionary")}"' in html
    assert 'id="exports-link"' in html  # the nav link, hers alone


def test_a_logged_in_statistician_downloads_the_linked_csv_and_it_shows_in_the_log(client, trial, statistician):
    client.force_login(statistician)
    csv_url, _ = _links("adverse-events")
    response = client.get(csv_url)  # session authentication, as the page's link is followed
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert len(body.strip().splitlines()) == 1 + 2
    entry = ExportLog.objects.get()
    page = client.get(reverse(PAGE))
    assert list(page.context["log"]) == [entry]
    html = page.content.decode()
    assert f'data-export-log="{entry.pk}"' in html
    row = html.split(f'data-export-log="{entry.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "statistician" in row and "adverse-events" in row and "CSV" in row and ">2<" in row


def test_the_log_shows_the_latest_20_newest_first(client, statistician):
    logs = [_logged(statistician, "patients", "json", rows=n) for n in range(22)]
    client.force_login(statistician)
    shown = list(client.get(reverse(PAGE)).context["log"])
    assert shown == logs[::-1][:20]


@pytest.mark.parametrize("persona", ["staff_site_a", "investigator_site_a", "monitor", "admin_user"])
def test_every_other_role_is_refused(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse(PAGE)).status_code == 403
    assert 'id="exports-link"' not in client.get(reverse("quality:missing")).content.decode()


def test_anonymous_goes_to_login(client):
    response = client.get(reverse(PAGE))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_post_is_not_offered(client, statistician):
    client.force_login(statistician)
    assert client.post(reverse(PAGE)).status_code == 405


def test_the_page_reads_in_a_constant_number_of_queries(client, trial, statistician, django_assert_num_queries):
    for dataset in ("patients", "lab-results", "questionnaires"):  # three log rows: a per-row read would show
        _logged(statistician, dataset, "csv", rows=1)
    client.force_login(statistician)
    client.get(reverse("quality:missing"))  # the first view after login starts the idle-timeout clock
    # session, user, her permissions (own and groups', one query), one COUNT per data set (4), the latest
    # 20 log rows (1: the log holds the username, no join per row), the trial (the page header).
    with django_assert_num_queries(9):
        response = client.get(reverse(PAGE))
    assert response.status_code == 200
    assert len(response.context["log"]) == 3


def test_the_page_reads_in_chinese(client, trial, statistician):
    client.force_login(statistician)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse(PAGE)).content.decode()
    for text in ("导出日志", "数据字典", "每位已随机化患者一行（意向性治疗，按分配组别）"):
        assert text in html
    for english in ("Export log", "Data dictionary", "One row per randomized patient"):
        assert english not in html


def test_a_site_scoped_reader_would_count_only_her_sites_rows(trial, staff_site_b):
    """The counts follow the exports' own site filter (SPEC: another site's records stay out)."""
    assert exports.row_counts(staff_site_b) == {
        dataset: len(list(exports.rows(dataset, user=staff_site_b))) for dataset in exports.DATASETS
    }


def test_the_odm_export_is_linked_and_its_link_downloads_it_into_the_log(client, trial, statistician):
    client.force_login(statistician)
    html = client.get(reverse(PAGE)).content.decode()
    odm = reverse("api-export-odm")
    assert 'data-standard="odm"' in html
    assert f'href="{odm}"' in html and f'href="{odm}?audit=1"' in html
    response = client.get(odm)  # session authentication, as the page's link is followed
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert b'ODMVersion="1.3.2"' in body
    assert ExportLog.objects.get().dataset == "odm"
    row = client.get(reverse(PAGE)).content.decode().split('id="export-log"', 1)[1]
    assert "<code>odm</code>" in row
