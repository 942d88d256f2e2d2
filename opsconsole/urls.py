from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from metrics.api.integrations import InfluxWriteView
from opsconsole import views
from opsconsole.scrape import PrometheusMetricsView

handler404 = "opsconsole.api.page_not_found"
handler500 = "opsconsole.api.server_error"

api_v1: list[URLPattern | URLResolver] = [
    path("", include("alerts.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("runbooks.api.urls")),
    path("", include("oncall.api.urls")),
    path("", include("components.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file of its own: the CSP runs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Exactly this path: "metrics/" (with the slash) is the explorer page.
    path("metrics", PrometheusMetricsView.as_view(), name="prometheus-metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # InfluxDB 2's write path, where Telegraf and Influx clients send line protocol.
    path("api/v2/write", InfluxWriteView.as_view(), name="influx-write"),
    path("", include("alerts.urls")),
    path("", include("metrics.urls")),
    path("", include("runbooks.urls")),
    path("", include("oncall.urls")),
    path("", include("components.urls")),
]
