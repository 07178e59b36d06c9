from django.urls import path

from patients import randomization_views, treatment_views, views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("screen/", views.screening_create_view, name="screen"),
    path("<str:study_id>/identity/", views.identity_edit_view, name="identity"),
    path("<str:study_id>/consent/", views.consent_view, name="consent"),
    path("<str:study_id>/consent/void/", views.consent_void_view, name="consent_void"),
    path("<str:study_id>/baseline/", views.baseline_view, name="baseline"),
    path("<str:study_id>/baseline/void/", views.baseline_void_view, name="baseline_void"),
    path("<str:study_id>/withdraw/", views.withdraw_view, name="withdraw"),
    path("<str:study_id>/void/", views.patient_void_view, name="void"),
    path("<str:study_id>/transfer/", treatment_views.transfer_view, name="transfer"),
    path("<str:study_id>/luteal-support/", treatment_views.luteal_support_view, name="luteal_support"),
    path("<str:study_id>/dalteparin/", treatment_views.dalteparin_view, name="dalteparin"),
    path(
        "<str:study_id>/randomization/error/",
        randomization_views.randomization_error_view,
        name="randomization_error",
    ),
]
