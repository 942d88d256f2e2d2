"""Who may see the console's pages."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Anonymous visitors go to the login page; signed-in non-staff get 403.

    Django's ``staff_member_required`` sends both to the login page, which
    leaves a non-staff user in a loop with no explanation.
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("The console is for staff accounts.")
        return view(request, *args, **kwargs)

    return guarded
