"""The "How I am paged" page: each person's own contact methods and rules, through forms alone."""

import pytest

from alerts.models import Delivery
from alerts.notifications import deliver_notifications
from alerts.tests.receivers import Receiver
from oncall.models import ContactMethod, NotificationRule
from oncall.tests.factories import make_webhook_contact
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGE = "/oncall/contacts/"
TOKEN_URL = "tgram://123456789:AAHsecretbottoken/987654"


@pytest.fixture
def ana(client):
    user = make_user(username="ana")
    client.force_login(user)
    return user


def test_an_apprise_contact_is_added_and_its_token_never_shown_again(client, ana):
    answer = client.post("/oncall/contacts/new/", {"label": "Telegram", "kind": "apprise", "url": TOKEN_URL})

    assert answer.status_code == 302
    assert ContactMethod.objects.get(user=ana).channel.url == TOKEN_URL
    page = client.get(PAGE).content.decode()
    assert "Telegram" in page and "tgram://…" in page
    assert "AAHsecretbottoken" not in page


def test_a_bad_contact_is_refused_with_the_reason_and_the_secret_not_echoed(client, ana):
    answer = client.post("/oncall/contacts/new/", {"label": "hook", "kind": "webhook", "url": "ftp://x/secret123"})

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "url" in page and "secret123" not in page
    assert not ContactMethod.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_send_me_a_test_delivers_and_the_page_shows_it(client, ana):
    receiver = Receiver()
    try:
        method = make_webhook_contact(ana, receiver.url, label="pager")
        assert client.post(f"/oncall/contacts/{method.pk}/test/").status_code == 302
        assert "Test queued" in client.get(PAGE).content.decode()

        deliver_notifications()

        assert [event for _, event in receiver.events()] == ["test"]
        assert "Test delivered (HTTP 200)" in client.get(PAGE).content.decode()
    finally:
        receiver.close()


def test_a_contact_is_deleted_with_its_rules(client, ana):
    method = make_webhook_contact(ana, "https://hooks.example.com/ana")
    NotificationRule.objects.create(user=ana, severity="critical", contact_method=method)

    assert client.post(f"/oncall/contacts/{method.pk}/delete/").status_code == 302

    assert not ContactMethod.objects.exists() and not NotificationRule.objects.exists()


def test_rules_are_added_and_read_in_words(client, ana):
    telegram = contacts_of(ana, "Telegram")
    mail = contacts_of(ana, "e-mail")
    client.post("/oncall/contacts/rules/new/", {"severity": "critical", "contact_method": telegram.pk})
    client.post(
        "/oncall/contacts/rules/new/", {"severity": "critical", "contact_method": mail.pk, "delay_minutes": "5"}
    )

    page = client.get(PAGE).content.decode()
    assert "at once by Telegram" in page and "after 5 min by e-mail" in page
    assert list(NotificationRule.objects.values_list("delay_minutes", flat=True).order_by("delay_minutes")) == [0, 5]


def test_a_rule_with_a_bad_delay_is_refused_with_the_reason(client, ana):
    telegram = contacts_of(ana, "Telegram")
    answer = client.post(
        "/oncall/contacts/rules/new/", {"severity": "critical", "contact_method": telegram.pk, "delay_minutes": "-3"}
    )
    assert answer.status_code == 400
    assert "delay_minutes" in answer.content.decode()
    assert not NotificationRule.objects.exists()


def test_another_persons_contact_methods_are_neither_shown_nor_changed(client, ana):
    bo = make_user(username="bo")
    theirs = make_webhook_contact(bo, "https://hooks.example.com/bo-private", label="bo-phone")

    assert "bo-phone" not in client.get(PAGE).content.decode()
    assert client.post(f"/oncall/contacts/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/oncall/contacts/{theirs.pk}/test/").status_code == 404
    answer = client.post("/oncall/contacts/rules/new/", {"severity": "critical", "contact_method": theirs.pk})
    assert answer.status_code == 400
    assert ContactMethod.objects.filter(pk=theirs.pk).exists()
    assert not Delivery.objects.exists() and not NotificationRule.objects.exists()


def test_the_page_is_for_staff_only(client):
    client.force_login(make_user(username="guest", staff=False))
    assert client.get(PAGE).status_code == 403


def contacts_of(user, label):
    return make_webhook_contact(user, f"https://hooks.example.com/{label}", label=label)
