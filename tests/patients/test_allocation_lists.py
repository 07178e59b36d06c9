"""Unpredictable allocation (issue 18, finding 7): server-drawn 256-bit seeds, lists that regenerate to their
hash, v1 lists that keep their generator, and no page, form or API that takes a seed."""

import importlib
import json
import pkgutil
from datetime import timedelta
from pathlib import Path

import pytest
from django import forms as django_forms
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from patients import allocation, randomization
from patients.allocation_stream import MT19937_V1, fixed_seed
from patients.models import AllocationList
from tests.core.test_anonymous_access import ROUTES, _example_path
from tests.factories import live_list, randomizable_patient

# The arms in the order the trial configuration lists them (core.Arm.order), as the services pass them.
ARMS = ("CTRL", "EXP")

pytestmark = pytest.mark.django_db
EXPORTS = ("patients", "lab-results", "adverse-events", "questionnaires")


def _generate(site, statistician, age_group="<35", length=40):
    return randomization.allocation_list_generate(
        site=site, age_group=age_group, length=length, block_sizes=[2, 4], by=statistician
    )


def _regenerated_hash(allocation_list: AllocationList) -> str:
    slots = allocation.permuted_blocks(
        seed=allocation_list.seed_hex,
        length=allocation_list.slots.count(),
        block_sizes=allocation_list.block_sizes,
        arms=ARMS,
    )
    return allocation.sequence_sha256(slots)


def test_generated_lists_get_different_256_bit_seeds_drawn_by_the_server(site_a, statistician):
    young, older = _generate(site_a, statistician, "<35"), _generate(site_a, statistician, ">=35")
    for made in (young, older):
        made.refresh_from_db()
        assert (made.generator, made.seed_source, made.seed) == ("hmac-sha256-v2", "server", None)
        assert len(bytes.fromhex(made.seed_hex)) * 8 == 256
    assert young.seed_hex != older.seed_hex
    # a draft regenerated for the same stratum gets a fresh seed too
    assert _generate(site_a, statistician, "<35").seed_hex not in (young.seed_hex, older.seed_hex)


def test_a_list_regenerated_from_its_recorded_seed_matches_its_hash_also_after_extension(site_a, statistician):
    live = randomization.allocation_list_go_live(allocation_list=_generate(site_a, statistician), by=statistician)
    assert _regenerated_hash(live) == live.sha256
    assert randomization.allocation_list_verify(allocation_list=live, by=statistician) is True
    randomization.allocation_list_extend(allocation_list=live, by=statistician, length=100)
    live.refresh_from_db()
    assert live.slots.count() == 100 and _regenerated_hash(live) == live.sha256
    assert randomization.allocation_list_verify(allocation_list=live, by=statistician) is True


def test_a_list_whose_seed_no_longer_reproduces_it_is_reported(site_a, statistician):
    live = randomization.allocation_list_go_live(allocation_list=_generate(site_a, statistician), by=statistician)
    AllocationList.objects.filter(pk=live.pk).update(seed_hex=fixed_seed("not this list's seed"))
    live.refresh_from_db()
    assert randomization.allocation_list_verify(allocation_list=live, by=statistician) is False


def test_the_generate_form_refuses_a_seed_and_the_server_draws_its_own(client, site_a, statistician):
    client.force_login(statistician)
    form = {"gen-site": site_a.pk, "gen-age_group": "<35", "gen-length": 20, "gen-block_sizes": "2,4", "generate": "1"}
    chosen = fixed_seed("a seed the statistician would like")
    for seed in ("20240101", chosen):
        refused = client.post(reverse("allocation:overview"), {**form, "gen-seed": seed})
        assert refused.status_code == 200 and "a seed cannot be given" in refused.content.decode()
        assert not AllocationList.objects.exists()
    created = client.post(reverse("allocation:overview"), form)
    made = AllocationList.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("allocation:detail", args=[made.pk])
    assert made.seed_hex not in (chosen, "") and made.seed_source == "server"


def test_the_statistician_sees_the_seed_its_source_and_the_check_on_the_list_page(client, site_a, statistician):
    drawn = randomization.allocation_list_go_live(allocation_list=_generate(site_a, statistician), by=statistician)
    fixed = live_list(site_a, statistician, age_group=">=35", length=20)
    client.force_login(statistician)
    for made, source in ((drawn, "drawn by the server"), (fixed, "fixed for demo data")):
        page = client.get(reverse("allocation:detail", args=[made.pk])).content.decode()
        assert made.seed_hex in page and source in page and 'data-verified="1"' in page
    overview = client.get(reverse("allocation:overview")).content.decode()
    assert 'data-seed-source="server"' in overview and 'data-seed-source="fixed"' in overview
    assert 'name="gen-seed"' not in overview


def _project_modules():
    """The modules of the project's own apps where forms, serializers, API classes and views live."""
    root = str(Path(apps.get_app_config("core").path).parent)
    for config in apps.get_app_configs():
        if not config.path.startswith(root):
            continue  # third-party apps
        for info in pkgutil.iter_modules([config.path], prefix=f"{config.name}."):
            if any(part in info.name.rsplit(".", 1)[1] for part in ("form", "serial", "api", "view")):
                yield importlib.import_module(info.name)


def _subclasses(base):
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_form_or_serializer_of_the_project_takes_a_seed():
    modules = list(_project_modules())
    assert "patients.forms" in {m.__name__ for m in modules}
    project = tuple(m.__name__ for m in modules)
    fields = [
        (cls.__qualname__, name)
        for cls in _subclasses(django_forms.BaseForm)
        if cls.__module__ in project
        for name in cls.base_fields
    ]
    fields += [
        (cls.__qualname__, name)
        for cls in _subclasses(serializers.BaseSerializer)
        if cls.__module__ in project and hasattr(cls, "_declared_fields")
        for name in [*cls._declared_fields, *getattr(getattr(cls, "Meta", None), "fields", ())]
    ]
    assert ("AllocationGenerateForm", "length") in fields  # the walk sees the allocation forms
    assert [field for field in fields if "seed" in field[1].lower()] == []


def _keys(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key == "name" and isinstance(value, str):
                yield value  # parameter names
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


def test_the_api_takes_no_seed_and_serves_no_allocation_list(client, statistician):
    client.force_login(statistician)
    schema = json.loads(client.get("/api/v1/schema/", {"format": "json"}, HTTP_ACCEPT="application/json").content)
    assert "/api/v1/patients/{study_id}/randomize/" in schema["paths"]
    assert not [key for key in _keys(schema) if "seed" in str(key).lower()]
    assert not [path for path in schema["paths"] if "allocation" in path]


def test_outside_the_allocation_pages_not_even_the_statistician_meets_a_seed(
    client, site_a, staff_site_a, statistician
):
    """Every GET route (pages, API, exports, audit) with real ids, as the statistician: no seed anywhere else."""
    made = live_list(site_a, statistician, length=20)
    patient = randomizable_patient(site_a, staff_site_a)
    randomization.patient_randomize(patient=patient, by=staff_site_a)
    client.force_login(statistician)
    exports = [f"/api/v1/export/{d}.{f}" for d in EXPORTS for f in ("csv", "json")]
    paths = [_example_path(pattern) for pattern, name in ROUTES if not (name or "").startswith("allocation:")]
    for path in [*paths, *exports]:  # her allocation pages show the seed, by design
        response = client.get(path.replace("SZ-0001", patient.study_id))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert made.seed_hex[:10] not in body.decode(errors="replace"), path
        if path in exports:
            assert response.status_code == 200, path


def _date_seeds():
    """What a person would type: dates around now, as yyyymmdd numbers (and, for v2, the same texts hashed or
    padded into 64 hex digits)."""
    today = timezone.localdate()
    for days in range(-3 * 365, 365):
        yield int(f"{today + timedelta(days=days):%Y%m%d}")


def _date_seed_candidates(observed: list[str]):
    """Every date-shaped seed whose list starts with the observed arms."""
    for number in _date_seeds():
        for generator, seed in (
            (MT19937_V1, number),
            ("hmac-sha256-v2", fixed_seed(str(number))),
            ("hmac-sha256-v2", f"{number:064x}"),
        ):
            drawn = allocation.permuted_blocks(seed=seed, length=len(observed), arms=ARMS, generator=generator)
            if [s.arm for s in drawn] == observed:
                yield generator, seed


def _predicted(observed: list[str], future: int) -> list[list[str]]:
    """What each candidate seed predicts for the next `future` slots (16 arms match by chance now and then:
    a candidate counts only if it also predicts the slots that follow)."""
    return [
        [
            s.arm
            for s in allocation.permuted_blocks(
                seed=seed, length=len(observed) + future, arms=ARMS, generator=generator
            )
        ][len(observed) :]
        for generator, seed in _date_seed_candidates(observed)
    ]


def test_a_date_seed_search_over_16_observed_allocations_predicts_nothing(site_a, staff_site_a, statistician):
    """The old attack predicts a list seeded with a date, and nothing of a list with a server seed."""
    a_while_ago = int(f"{timezone.localdate() - timedelta(days=200):%Y%m%d}")
    dated = [s.arm for s in allocation.permuted_blocks(arms=ARMS, seed=a_while_ago, length=40, generator=MT19937_V1)]
    assert dated[16:] in _predicted(dated[:16], 24)
    live = randomization.allocation_list_go_live(
        allocation_list=_generate(site_a, statistician, length=40), by=statistician
    )
    observed = [
        randomization.patient_randomize(patient=randomizable_patient(site_a, staff_site_a), by=staff_site_a).arm.code
        for _ in range(16)
    ]
    arms = list(live.slots.order_by("sequence").values_list("arm__code", flat=True))
    assert observed == arms[:16]
    assert arms[16:] not in _predicted(observed, 24)
