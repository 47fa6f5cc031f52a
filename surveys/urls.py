from django.urls import path

from surveys import views

urlpatterns = [
    path("s/open/<slug:slug>/", views.open_survey, name="survey-open"),
    path("s/confirm/<str:token>/", views.confirm, name="survey-confirm"),
    path("s/<str:token>/", views.survey, name="survey"),
]
