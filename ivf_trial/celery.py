import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ivf_trial.settings")

app = Celery("ivf_trial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
