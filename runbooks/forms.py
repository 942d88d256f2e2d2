"""The runbook edit form of the pages: matchers typed as ``name=value`` lines."""

from django import forms
from django.utils.translation import gettext_lazy as _

from alerts.models import MAX_LABEL_KEY, MAX_LABEL_VALUE, MAX_LABELS
from runbooks.models import Runbook


def parse_matchers(text: str) -> dict[str, str]:
    """``name=value`` per line (blank lines skipped) as a dict; ValidationError naming the bad line."""
    matchers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise forms.ValidationError(_("Line %(line)d: write name=value.") % {"line": number})
        if len(name) > MAX_LABEL_KEY or len(value.strip()) > MAX_LABEL_VALUE:
            raise forms.ValidationError(
                _("Line %(line)d: names are at most %(key)d characters, values %(value)d.")
                % {"line": number, "key": MAX_LABEL_KEY, "value": MAX_LABEL_VALUE}
            )
        if name in matchers:
            raise forms.ValidationError(_("Line %(line)d: %(name)s is given twice.") % {"line": number, "name": name})
        matchers[name] = value.strip()
    if len(matchers) > MAX_LABELS:
        raise forms.ValidationError(_("At most %(count)d matchers.") % {"count": MAX_LABELS})
    return matchers


def matchers_text(matchers: dict[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in matchers.items())


class RunbookForm(forms.ModelForm):
    matchers_text = forms.CharField(
        label=_("Matchers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("One label per line, name=value. It applies to alerts with all of them; none: to no alert."),
    )

    class Meta:
        model = Runbook
        fields = ["title", "category", "body"]
        labels = {"title": _("Title"), "category": _("Category"), "body": _("Body (Markdown)")}
        help_texts = {"body": _("Numbered steps at the top level can be run as an incident checklist.")}
        widgets = {"body": forms.Textarea(attrs={"rows": 18, "spellcheck": "true"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["matchers_text"].initial = matchers_text(self.instance.matchers)

    def clean_matchers_text(self):
        return parse_matchers(self.cleaned_data["matchers_text"])

    def save(self, commit=True):
        self.instance.matchers = self.cleaned_data["matchers_text"]
        return super().save(commit=commit)
