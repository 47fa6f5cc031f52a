from django.urls import path

from privacy import views

urlpatterns = [
    # Under the preference centre's own link: the same token, one more step.
    path("p/<str:token>/data/", views.my_data, name="my-data"),
]
