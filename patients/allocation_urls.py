from django.urls import path

from patients import randomization_views as views

app_name = "allocation"

urlpatterns = [
    path("", views.allocation_overview_view, name="overview"),
    path("<int:pk>/", views.allocation_detail_view, name="detail"),
    path("<int:pk>/go-live/", views.allocation_go_live_view, name="go_live"),
    path("<int:pk>/extend/", views.allocation_extend_view, name="extend"),
]
