from django.urls import path

from analysis import views

app_name = "analysis"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("tables/<str:table>.csv", views.dashboard_csv_view, name="table_csv"),
    path("recompute/", views.recompute_view, name="recompute"),
    path("jobs/<int:pk>/", views.job_status_view, name="job"),
    path("exports/", views.exports_view, name="exports"),
]
