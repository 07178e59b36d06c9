"""WSGI entry point (gunicorn `ivf_trial.wsgi:application`)."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ivf_trial.settings")

application = get_wsgi_application()

# Import every URL's view, and what the views import (numpy, scipy: ~2 s), while the worker boots rather
# than during the first request someone sends it: otherwise each new worker's first page takes seconds.
import_module(settings.ROOT_URLCONF)
