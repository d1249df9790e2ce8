"""The filter backends of the API: django-filter's, with the pages' FilterSets, and a strict ordering."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

_WITH_CACHED_FORM: dict[type, type] = {}


def with_cached_form(filterset_class: type) -> type:
    """``filterset_class``, or a subclass of it that builds its form class once rather than per request.

    django-filter makes a new form class for every filter set it instantiates (about 0.4 ms). The class
    depends only on the filters, which are the same for every request unless one takes its queryset from
    the request (a callable ``queryset``): such filter sets are left as they are.
    """
    if any(callable(getattr(f, "queryset", None)) for f in filterset_class.base_filters.values()):
        return filterset_class
    if filterset_class not in _WITH_CACHED_FORM:
        built: list[type] = []

        def get_form_class(self):
            if not built:
                built.append(filterset_class.get_form_class(self))
            return built[0]

        _WITH_CACHED_FORM[filterset_class] = type(
            filterset_class.__name__,
            (filterset_class,),
            {"get_form_class": get_form_class, "__module__": filterset_class.__module__},
        )
    return _WITH_CACHED_FORM[filterset_class]


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend: skipped when the request names none of the filter set's parameters (the
    form would change nothing, and building it costs about a millisecond), and with each form class built
    once (``with_cached_form``)."""

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        return with_cached_form(filterset_class) if filterset_class is not None else None

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's ``?ordering=``, answering 400 (naming the allowed values) for a field it does not allow,
    where DRF would silently fall back to the default ordering."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        unknown = [term for term in fields if term.removeprefix("-") not in valid]
        if unknown:
            allowed = ", ".join(f"{name}, -{name}" for name in valid)
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"unknown ordering {', '.join(map(repr, unknown))}; allowed: {allowed}"
                    ]
                }
            )
        return fields
