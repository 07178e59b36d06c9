from django.urls import path

from outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("<str:study_id>/pregnancy/", views.outcome_view, name="pregnancy"),
    path("<str:study_id>/adverse-events/new/", views.adverse_event_create_view, name="ae_create"),
    path("<str:study_id>/adverse-events/<int:pk>/", views.adverse_event_edit_view, name="ae_edit"),
    path(
        "<str:study_id>/questionnaires/<str:instrument>/<str:timepoint>/",
        views.questionnaire_view,
        name="questionnaire",
    ),
]
