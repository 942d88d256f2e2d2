from rest_framework.permissions import DjangoModelPermissions


class StaffOrModelPermissions(DjangoModelPermissions):
    """Staff may do everything; other users only what a model permission grants.

    Unlike DRF's class, reading needs the ``view`` permission too: an ops
    console's alerts are not for every account on the system. Views without a
    queryset (stats, metrics) are staff-only unless they name a ``permission_model``.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_staff:
            return True
        model = getattr(view, "permission_model", None)
        if model is None and (getattr(view, "queryset", None) is not None or hasattr(view, "get_queryset")):
            try:
                model = self._queryset(view).model
            except Exception:  # noqa: BLE001 - a view without a queryset is staff-only
                model = None
        if model is None:
            return False
        perms = self.get_required_permissions(request.method, model)
        return user.has_perms(perms)
