"""DRF permissions over ``catalog.permissions``: who reads, who writes, what is staff only."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from catalog.permissions import can_read, is_staff


class CatalogPermission(BasePermission):
    """Reads: signed-in users, or anyone when ``PORTAL["ANONYMOUS_READ"]`` is on. Writes: signed-in, active
    users, and on an object only when the view's ``can_edit(user, obj)`` says so (staff always)."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return can_read(request.user)
        return bool(request.user.is_authenticated and request.user.is_active)

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        can_edit = getattr(view, "can_edit", None)
        return is_staff(request.user) or (can_edit is not None and can_edit(request.user, obj))


class StaffOnly(BasePermission):
    """Active staff only, for reading and writing (sources, sync runs)."""

    message = "staff only"

    def has_permission(self, request, view):
        return is_staff(request.user)
