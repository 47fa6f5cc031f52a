from django.contrib import admin
from django.urls import include, path

from config.health import healthz
from loyalty.api import api as pos_api

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", pos_api.urls),
    path("", include("loyalty.urls")),
    path("", include("notifications.urls")),
    path("", include("surveys.urls")),
    path("", include("privacy.urls")),
    path("anymail/", include("anymail.urls")),
]
