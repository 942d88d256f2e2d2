"""Who may call which endpoint: staff everything, others what a permission grants.

The permission follows the *action*, not the HTTP method: acknowledging an
alert is a POST, yet it changes the alert, so it needs ``change_alert``. The
README's "Who may do what" table lists every endpoint with what it needs,
and ``tests/test_permissions_table.py`` checks every operation of the
OpenAPI schema against that table.
"""

from rest_framework.permissions import BasePermission

# What the standard actions of a view set do to their model.
ACTION_VERBS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
    "metadata": "view",  # OPTIONS on a view set
}
# What a plain view's method does to the model it names (``permission_model``).
METHOD_VERBS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "PUT": "change", "PATCH": "change"}


def required_permission(view, method: str) -> str | None:
    """The one permission this call needs, or None when only staff may make it.

    A view names its own actions in ``action_permissions`` (keyed by view-set
    action, or by lower-case method on a plain view); anything else follows
    the verb tables above on the view's model. A custom action nobody
    declared is staff-only rather than guessed from its method, and so is
    every call of a view that says ``staff_only``.
    """
    if getattr(view, "staff_only", False):
        return None
    view_set_action = getattr(view, "action", None)
    declared = getattr(view, "action_permissions", {}).get(view_set_action or method.lower())
    if declared is not None:
        return declared
    model = _model_of(view)
    if model is None:
        return None
    verb = ACTION_VERBS.get(view_set_action) if view_set_action else METHOD_VERBS.get(method)
    if verb is None:
        return None
    return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"


def _model_of(view):
    model = getattr(view, "permission_model", None)
    if model is not None:
        return model
    queryset = getattr(view, "queryset", None)
    return None if queryset is None else queryset.model


class ActionPermissions(BasePermission):
    """Staff may do everything; anyone else needs the action's permission."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_staff:
            return True
        needed = required_permission(view, request.method)
        return needed is not None and user.has_perm(needed)
