from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self):
        from django.contrib import admin
        from knox.models import AuthToken

        import core.lookups  # registers the `__any` lookup
        import core.signals  # noqa: F401  (logins, logouts and failed logins become account events)
        from core.audit_chain import install_chain_triggers
        from core.foreign_keys import install_referenced_triggers
        from core.token_triggers import install_token_triggers

        # After every migrate (and test-database flush): audit tables added by any app join the chain.
        post_migrate.connect(install_chain_triggers, sender=self, dispatch_uid="core.audit_chain")
        # And the tables referred to by keys checked per statement refuse deletes of referred-to rows.
        post_migrate.connect(install_referenced_triggers, sender=self, dispatch_uid="core.foreign_keys")
        # And a password, activity or role change revokes the account's API tokens, on every path.
        post_migrate.connect(install_token_triggers, sender=self, dispatch_uid="core.token_triggers")

        # No token admin (issue 18): a token is issued by logging in and is nobody else's to create or see.
        if admin.site.is_registered(AuthToken):
            admin.site.unregister(AuthToken)
