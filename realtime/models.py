"""The durable stream: every event a socket hears, stored with the change it reports.

A service records its events in the transaction of its change
(``realtime.publish.record``), so an event exists exactly when its change
committed, whatever happens to the process afterwards. The relay
(``realtime.relay``) numbers committed rows per topic, in commit order, and
carries them to Redis; ``StreamCursor`` says how far each topic got.
"""

import secrets

from django.db import models
from django.utils import timezone


def new_epoch() -> str:
    return secrets.token_hex(8)


class StreamEvent(models.Model):
    topic = models.CharField(max_length=32)
    type = models.CharField(max_length=32)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    seq = models.BigIntegerField(null=True, blank=True)  # set by the relay; contiguous per topic

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "seq"], name="stream_event_topic_seq")]
        indexes = [
            # The relay's "what is not numbered yet", kept small by being partial.
            models.Index(fields=["topic", "id"], name="stream_event_pending", condition=models.Q(seq__isnull=True)),
            models.Index(fields=["created_at"], name="stream_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.seq} {self.type}"


class StreamCursor(models.Model):
    """How far one topic's stream got: numbered through ``last_seq``, sent to Redis through ``published_seq``.

    Its row is the lock two relays take turns on. ``degraded_since`` is set
    when Redis refused an event (every process reads it; ``/readyz`` reports
    it) and cleared once Redis takes writes again.
    """

    topic = models.CharField(max_length=32, primary_key=True)
    # Names this stream in Redis: a database restored or recreated starts a
    # new epoch, so a buffer of another stream's seqs is never replayed as this one's.
    epoch = models.CharField(max_length=16, default=new_epoch)
    last_seq = models.BigIntegerField(default=0)
    published_seq = models.BigIntegerField(default=0)
    degraded_since = models.DateTimeField(null=True, blank=True)
    degraded_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.topic} at {self.last_seq} (published {self.published_seq})"
