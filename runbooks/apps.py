from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    name = "runbooks"
    verbose_name = "Runbooks"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from runbooks.matching import forget_runbooks
        from runbooks.models import Runbook

        # This process's list of runbooks is read again after its own writes at once;
        # other processes' copies expire (see runbooks.matching).
        post_save.connect(forget_runbooks, sender=Runbook, dispatch_uid="runbooks-forget-on-save")
        post_delete.connect(forget_runbooks, sender=Runbook, dispatch_uid="runbooks-forget-on-delete")
