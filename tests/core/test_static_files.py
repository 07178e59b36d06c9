"""Production static files: collectstatic with the manifest storage must succeed (a vendored file that
references a missing source map or image breaks the Docker build and every DJANGO_DEBUG=0 start)."""

from django.core.management import call_command


def test_collectstatic_with_the_production_manifest_storage_succeeds(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert any(tmp_path.glob("vendor/chartjs/chart.umd.min.*.js"))
