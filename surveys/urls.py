from django.urls import path

from surveys import views

urlpatterns = [path("s/<str:token>/", views.survey, name="survey")]
