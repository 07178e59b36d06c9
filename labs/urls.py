from django.urls import path

from labs import views

app_name = "labs"

urlpatterns = [
    path("import/", views.import_view, name="import"),
    path("import/confirm/", views.import_confirm_view, name="import_confirm"),
    path("draw/<str:study_id>/", views.draw_create_view, name="draw_create"),
    path("results/<int:pk>/correct/", views.result_correct_view, name="result_correct"),
]
