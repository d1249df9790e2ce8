"""The REST API under /api/v1/ (Django REST framework): serializers, viewsets, router, auth, errors."""
