from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from core.home_views import home_view
from core.views import health, set_language
from sampledata.views import about_view

urlpatterns = [
    path("", home_view, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", include("core.token_urls")),
    path("accounts/", include("core.account_urls")),
    path("healthz/", health, name="health"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("patients/", include("patients.urls")),
    path("allocation/", include("patients.allocation_urls")),
    path("labs/", include("labs.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("dashboard/", include("analysis.urls")),
    path("quality/", include("quality.urls")),
    # After patients.urls and quality.urls: its /patients/<study_id>/ would otherwise take /patients/screen/.
    path("", include("casebook.urls")),
    path("about/", about_view, name="about"),
    path("api/v1/", include("ivf_trial.api_urls")),
    path("admin/", admin.site.urls),
]

# An /api/ path no route matches (e.g. a non-numeric id) answers JSON like every other API error.
handler404 = "core.views.page_not_found"
