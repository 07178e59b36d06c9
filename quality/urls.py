from django.urls import path

from quality import lock_views, trial_settings_views, views

app_name = "quality"

urlpatterns = [
    path("queries/", views.query_list_view, name="queries"),
    path("queries/<int:pk>/", views.query_detail_view, name="query"),
    path("missing/", views.missing_forms_view, name="missing"),
    path("database-lock/", lock_views.database_lock_view, name="database_lock"),
    path("trial-settings/", trial_settings_views.trial_settings_view, name="trial_settings"),
]
