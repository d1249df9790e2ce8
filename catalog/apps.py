from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import (
            signals,  # noqa: F401  (connects the receivers)
            sso,  # noqa: F401  (updates the Person on each single sign-on)
        )
        from catalog.audit import register as register_audited_models
        from catalog.notifications import signals as notification_signals  # noqa: F401

        register_audited_models()
