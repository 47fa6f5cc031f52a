from django.urls import path

from notifications.public import views

urlpatterns = [
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("w/<str:token>/", views.why, name="why"),
    path("o/<str:token>/", views.offer, name="offer"),
    path("u/<str:token>/one-click/", views.unsubscribe_one_click, name="unsubscribe-one-click"),
]
