from django.urls import path

from loyalty import views

urlpatterns = [
    path("d/<str:token>/", views.dispute, name="dispute"),
]
