"""The on-call pages (now, next, a calendar; the policy editor) and the iCal feed."""

from django.http import Http404, HttpResponse

from oncall.feeds import feed_for_key, ical


def feed(request, key):
    """A calendar app's fetch: the key in the URL is the only credential (see ``oncall.feeds``)."""
    found = feed_for_key(key)
    if found is None:
        raise Http404("No such feed.")
    response = HttpResponse(ical(found), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
