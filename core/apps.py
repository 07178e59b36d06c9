from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        import core.lookups  # noqa: F401  (registers the `__any` lookup)
        from core.audit_chain import install_chain_triggers
        from core.foreign_keys import install_referenced_triggers

        # After every migrate (and test-database flush): audit tables added by any app join the chain.
        post_migrate.connect(install_chain_triggers, sender=self, dispatch_uid="core.audit_chain")
        # And the tables referred to by keys checked per statement refuse deletes of referred-to rows.
        post_migrate.connect(install_referenced_triggers, sender=self, dispatch_uid="core.foreign_keys")
