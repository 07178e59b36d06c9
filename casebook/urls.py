"""The paths are the ones users bookmarked when these pages lived in patients and quality (a contract);
ivf_trial/urls.py includes this module after those apps so /patients/screen/ stays the screening page."""

from django.urls import path

from casebook import history_views, views

app_name = "casebook"

urlpatterns = [
    path("patients/<str:study_id>/", views.patient_view, name="patient"),
    path("patients/<str:study_id>/history/", history_views.history_view, name="history"),
    path("patients/<str:study_id>/randomize/", views.randomize_view, name="randomize"),
    path("quality/casebook/<str:study_id>/", views.review_view, name="review"),
]
