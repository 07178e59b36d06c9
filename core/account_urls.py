from django.urls import path

from core import account_views as views

app_name = "accounts"

urlpatterns = [
    path("password/", views.PasswordChange.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDone.as_view(), name="password_change_done"),
    path("set-password/<uidb64>/<token>/", views.SetPassword.as_view(), name="set_password"),
    path("set-password/done/", views.SetPasswordDone.as_view(), name="set_password_done"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/", views.approval_decide, name="approval_decide"),
    path("history/", views.account_history, name="history"),
    path("review/", views.access_review, name="access_review"),
]
