// A timeline of alert and incident events, as the alert and incident pages draw it.
import { el, gettext, timeAgo, word } from "./ui.js";

// What each kind of timeline entry reads as; an unknown kind shows as stored.
const KINDS = {
  "incident.opened": gettext("opened"),
  "incident.updated": gettext("updated"),
  "incident.status_changed": gettext("status changed"),
  "incident.note": gettext("note"),
  "incident.alert_attached": gettext("alert attached"),
  "incident.checklist_started": gettext("checklist started"),
  "incident.step_ticked": gettext("step ticked"),
  "incident.evidence_captured": gettext("evidence captured"),
  "escalation.step": gettext("escalation step"),
  "escalation.page": gettext("paged"),
  "escalation.stopped": gettext("escalation stopped"),
  "alert.fired": gettext("alert fired"),
  "alert.updated": gettext("alert updated"),
  "alert.acknowledged": gettext("alert acknowledged"),
  "alert.unacknowledged": gettext("acknowledgement expired"),
  "alert.resolved": gettext("alert resolved"),
  "alert.edited": gettext("alert edited"),
  "alert.silenced": gettext("alert silenced"),
  "alert.unsilenced": gettext("alert unsilenced"),
  "alert.flapping": gettext("alert flapping"),
  "alert.settled": gettext("alert settled"),
};

const FIELDS = { title: gettext("title"), severity: gettext("severity"), summary: gettext("summary"), commander: gettext("commander"), status: gettext("status") };
const shown = (value) => (value === null || value === undefined || value === "" ? "—" : word(value));

// What changed, from what to what: a status change's data, or an edit's `changes`.
function changeLines(item) {
  const data = item.data || {};
  if (item.kind === "incident.status_changed" && data.from) return [`${FIELDS.status}: ${shown(data.from)} → ${shown(data.to)}`];
  return Object.entries(data.changes || {}).map(([field, [from, to]]) =>
    field === "summary" ? FIELDS.summary : `${FIELDS[field] || field}: ${shown(from)} → ${shown(to)}`);
}

/** One entry: what happened, who, when, what changed, and its text (a comment, a note, a resolution). */
export function timelineEntry(item) {
  return el("li", { id: `event-${item.id}` },
    el("span", { class: "kind", dataset: { kind: item.kind } }, KINDS[item.kind] || item.kind), " · ", el("span", { class: "muted" }, item.actor), " · ",
    el("time", { datetime: item.at, "data-relative": true, title: item.at }, timeAgo(item.at)),
    changeLines(item).map((line) => el("div", { class: "entry-change" }, line)),
    item.kind === "incident.evidence_captured" ? evidencePlace(item) : item.text ? el("div", { class: "entry-text" }, item.text) : null);
}

// Where a capture's chart is drawn (evidence.js draws it once the capture's data is at hand).
function evidencePlace(item) {
  const id = Number((item.data || {}).evidence);
  return el("div", { class: "evidence", id: `evidence-${id}`, dataset: { evidence: id } },
    el("div", { class: "muted small" }, item.text));
}

/** Adds the entries `list` does not show yet, newest on top; `seen` holds the ids shown. */
export function addTimelineEntries(list, seen, items) {
  for (const item of items) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    list.prepend(timelineEntry(item));
  }
}
