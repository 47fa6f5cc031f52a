from django.urls import path

from notifications import views

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/one-click/", views.unsubscribe_one_click, name="unsubscribe-one-click"),
]
