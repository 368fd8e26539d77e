"""URL routes of the portal (namespace ``portal``); URLs hold internal ids only, never UIDs."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from exam.portal import views
from exam.portal.forms import LoginForm

app_name = "portal"

urlpatterns = [
    path(
        "",
        auth_views.LoginView.as_view(
            template_name="portal/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/", views.jobs_page, name="jobs"),
    path("jobs/events/", views.job_events, name="job-events"),
    path("jobs/updates/", views.job_updates, name="job-updates"),
    path("jobs/upload/", views.upload, name="upload"),
    path("jobs/<int:pk>/retry/", views.retry, name="retry"),
    path("results/<int:pk>/", views.result_page, name="result"),
    path("results/<int:pk>/preview.png", views.preview, name="preview"),
    path("results/<int:pk>/result.json", views.result_download, name="result-json"),
    path("results/<int:pk>/original.dcm", views.original_download, name="original"),
    path("operations/", views.operations_page, name="operations"),
    path("operations/workers/", views.workers_panel, name="workers"),
]
