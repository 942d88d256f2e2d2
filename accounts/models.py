from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A credential for scripts and agents, of which only a hash is kept.

    The full key is shown once, when it is made. It reads
    ``oc_<prefix>_<secret>``: the prefix finds the row with an index, the
    SHA-256 of the whole key proves it. A fast hash is right here because the
    key is 256 random bits, not a password a person chose.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Refused from then on; never when empty.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        label = self.name or "unnamed"
        return f"{label} ({self.prefix}…) for {self.user}"

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self):
        return self.revoked_at is None and not self.is_expired
