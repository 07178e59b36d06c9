from django.apps import AppConfig


class SampledataConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sampledata"
