"""E-mail that always goes: one-line subjects, a readable body with a link to the alert."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from alerts.models import Delivery, NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alert_title_with_a_newline_still_gets_its_email():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    make_alert(title="Disk full on db-1\nBcc: everyone@example.com", severity="critical")
    assert deliver_notifications() == {"sent": 1}
    (message,) = mail.outbox
    assert message.subject == "[critical] FIRING: Disk full on db-1 Bcc: everyone@example.com"
    assert message.to == ["oncall@example.com"] and not message.bcc
    assert Delivery.objects.get().attempts == 1


def test_the_body_reads_as_text_with_a_link_to_the_alert(settings):
    settings.OPSCONSOLE_PUBLIC_URL = "https://ops.example.com"
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    alert = make_alert(title="CPU hot", labels={"host": "web-1", "dc": "ams"}, value=97.5, threshold=90)
    deliver_notifications()
    body = mail.outbox[0].body
    assert body.startswith("CPU hot\n")
    assert "Value: 97.5 (threshold 90)" in body and "Labels: dc=ams, host=web-1" in body
    assert f"https://ops.example.com/alerts/{alert.pk}/" in body
    assert "{" not in body  # not a JSON dump


def test_a_bad_address_is_refused_at_save():
    with pytest.raises(ValidationError) as refused:
        NotificationChannel(name="mail", kind="email", emails="oncall@example.com\nnot an address").full_clean()
    assert "not an e-mail address" in str(refused.value.message_dict["emails"])
