"""The runbook pages: a searchable list, a rendered view, and the edit form. Server-rendered, no script."""

from django.db.models import Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.access import staff_required
from alerts.config_audit import delete_audited, save_audited
from alerts.services import actor_name
from runbooks.forms import RunbookForm
from runbooks.markdown import checklist_steps, render_markdown
from runbooks.models import Runbook

MAX_SEARCH = 200


@staff_required
def runbook_list(request):
    search = request.GET.get("q", "").strip()[:MAX_SEARCH]
    category = request.GET.get("category", "").strip()[:50]
    rows = Runbook.objects.order_by("title", "id")
    if search:
        rows = rows.filter(Q(title__icontains=search) | Q(body__icontains=search))
    if category:
        rows = rows.filter(category=category)
    categories = Runbook.objects.exclude(category="").order_by("category").values_list("category", flat=True).distinct()
    return render(
        request,
        "runbooks/runbook_list.html",
        {"runbooks": rows[:500], "search": search, "category": category, "categories": list(categories)},
    )


@staff_required
def runbook_detail(request, runbook_id):
    runbook = get_object_or_404(Runbook, pk=runbook_id)
    return render(
        request,
        "runbooks/runbook_detail.html",
        {"runbook": runbook, "body_html": render_markdown(runbook.body), "steps": len(checklist_steps(runbook.body))},
    )


def _edit(request, runbook):
    form = RunbookForm(request.POST or None, instance=runbook)
    if request.method == "POST" and form.is_valid():
        actor = actor_name(request.user)

        def save():
            form.instance.updated_by = actor
            return form.save()

        saved = save_audited(actor, save, runbook)
        return redirect("runbook-detail", saved.pk)
    return render(request, "runbooks/runbook_form.html", {"form": form, "runbook": runbook})


@staff_required
def runbook_create(request):
    return _edit(request, None)


@staff_required
def runbook_edit(request, runbook_id):
    return _edit(request, get_object_or_404(Runbook, pk=runbook_id))


@staff_required
def runbook_delete(request, runbook_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"], _("Delete with the button on the edit page."))
    delete_audited(actor_name(request.user), get_object_or_404(Runbook, pk=runbook_id))
    return redirect("runbook-list")
