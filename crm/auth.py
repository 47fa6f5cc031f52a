from django.contrib.auth.backends import ModelBackend


class StaffBackend(ModelBackend):
    """Django's own backend, reading the staff profile with the user: every admin request needs
    its time zone (crm.middleware), and this way it costs no query of its own."""

    def get_user(self, user_id):
        user = self.user_model_queryset().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_model_queryset(self):
        from django.contrib.auth import get_user_model

        return get_user_model()._default_manager.select_related("staff_profile")
