// One incident: status buttons, notes, and a timeline that grows live.
import { openStream, pageState } from "./console.js";
import { drawEvidence, evidenceCharts, undrawn } from "./evidence.js";
import { addTimelineEntries } from "./timeline.js";
import { api, el, flash, gettext, keepTimesFresh, timeAgo, word } from "./ui.js";

const state = pageState("incident-state");
const incidentId = state.incident.id;
const seen = new Set();
const timeline = document.getElementById("timeline");
let incident = state.incident;

function addEntries(items) {
  addTimelineEntries(timeline, seen, items);
  drawEvidence(timeline, state.evidence);
}

// A capture another page made shows in the timeline first; its data is fetched then.
async function fetchUndrawnEvidence() {
  if (!undrawn(timeline).length) return;
  state.evidence = await api("GET", `/api/v1/incidents/${incidentId}/evidence/`);
  drawEvidence(timeline, state.evidence);
}

// The chosen window: the last N minutes, or the incident's span (opened until resolved, or now).
function evidenceWindow(choice) {
  if (choice !== "span") return { minutes: Number(choice) };
  const end = incident.resolved_at ? new Date(incident.resolved_at) : new Date();
  return { start: incident.opened_at, end: end.toISOString() };
}

document.getElementById("evidence-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("capture-evidence");
  button.disabled = true;
  try {
    const captured = await api("POST", `/api/v1/incidents/${incidentId}/evidence/`, evidenceWindow(document.getElementById("evidence-window").value));
    state.evidence = [...state.evidence.filter((item) => item.id !== captured.id), captured];
    addEntries(await api("GET", `/api/v1/incidents/${incidentId}/timeline/`));
  } catch (error) {
    flash(error.message);
  } finally {
    button.disabled = false;
  }
});

function showIncident(next) {
  incident = next;
  document.getElementById("incident-title").textContent = incident.title;
  document.getElementById("incident-severity").value = incident.severity;
  const commander = document.getElementById("incident-commander");
  if (incident.commander && ![...commander.options].some((option) => option.value === incident.commander)) {
    commander.append(el("option", { value: incident.commander }, incident.commander)); // no longer staff, still in command
  }
  commander.value = incident.commander || "";
  const badge = document.getElementById("incident-status");
  badge.textContent = word(incident.status);
  badge.className = `status ${incident.status}`;
  for (const button of document.querySelectorAll("#status-buttons button")) {
    button.disabled = incident.status === "resolved" || button.dataset.status === incident.status;
    button.textContent = word(button.dataset.status);
  }
}

function showAlerts(alerts) {
  document.getElementById("incident-alerts").replaceChildren(...alerts.map((alert) =>
    el("li", { id: `incident-alert-${alert.id}`, class: `sev-border ${alert.severity}` }, el("span", { class: `status ${alert.status}` }, word(alert.status)), " ", el("a", { href: `/alerts/${alert.id}/` }, alert.title))));
}

function showRunbookChoice(runbooks) {
  const choice = document.getElementById("runbook-choice");
  const suggested = runbooks.filter((runbook) => runbook.suggested);
  const others = runbooks.filter((runbook) => !runbook.suggested);
  const options = (list) => list.map((runbook) => el("option", { value: runbook.id }, runbook.title));
  choice.replaceChildren(
    suggested.length ? el("optgroup", { label: gettext("For these alerts") }, options(suggested)) : null,
    others.length ? el("optgroup", { label: gettext("All runbooks") }, options(others)) : null);
  document.getElementById("run-runbook").hidden = runbooks.length === 0;
}

function stepItem(checklist, step) {
  const box = el("input", { type: "checkbox", id: `step-${checklist.id}-${step.number}`, checked: step.ticked_at !== null, disabled: step.ticked_at !== null });
  box.dataset.checklist = checklist.id;
  box.dataset.step = step.number;
  return el("li", { class: step.ticked_at ? "ticked" : null },
    el("label", { for: box.id }, box, " ", step.text),
    step.ticked_at ? el("div", { class: "muted small" }, "✓ ", step.ticked_by, " · ",
      el("time", { datetime: step.ticked_at, "data-relative": true, title: step.ticked_at }, timeAgo(step.ticked_at))) : null);
}

function showChecklists(checklists) {
  document.getElementById("checklists").replaceChildren(...checklists.map((checklist) => {
    const done = checklist.steps.filter((step) => step.ticked_at).length;
    const heading = checklist.runbook
      ? el("a", { href: `/runbooks/${checklist.runbook}/` }, checklist.title)
      : checklist.title;
    return el("section", { class: "checklist", id: `checklist-${checklist.id}` },
      el("h3", {}, heading, " ", el("span", { class: "muted small" }, `${done}/${checklist.steps.length}`)),
      el("ol", {}, checklist.steps.map((step) => stepItem(checklist, step))));
  }));
  document.getElementById("no-checklists").hidden = checklists.length > 0;
}

document.getElementById("checklists").addEventListener("change", async (event) => {
  const box = event.target.closest("input[data-step]");
  if (!box) return;
  box.disabled = true;
  try {
    await api("POST", `/api/v1/incidents/${incidentId}/checklists/${box.dataset.checklist}/steps/${box.dataset.step}/tick/`);
    await refresh();
  } catch (error) {
    box.checked = false;
    box.disabled = false;
    flash(error.message);
  }
});

document.getElementById("run-runbook").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", `/api/v1/incidents/${incidentId}/checklists/`, { runbook: Number(document.getElementById("runbook-choice").value) });
    await refresh();
  } catch (error) {
    flash(error.message);
  }
});

// A REST answer is shown only if no newer version was pushed meanwhile.
function showIfCurrent(incident) {
  if (stream.isCurrent("incident", incident)) showIncident(incident);
}

async function refresh({ incident = false } = {}) {
  if (incident) showIfCurrent(await api("GET", `/api/v1/incidents/${incidentId}/`));
  addEntries(await api("GET", `/api/v1/incidents/${incidentId}/timeline/`));
  await fetchUndrawnEvidence();
  showChecklists(await api("GET", `/api/v1/incidents/${incidentId}/checklists/`));
  const page = await api("GET", `/api/v1/alerts/?incident=${incidentId}&page_size=200`);
  showAlerts(page.results);
}

document.getElementById("status-buttons").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-status]");
  if (!button) return;
  try {
    showIfCurrent(await api("PATCH", `/api/v1/incidents/${incidentId}/`, { status: button.dataset.status }));
    await refresh();
  } catch (error) {
    flash(error.message);
  }
});

// Severity and commander save as soon as they are chosen; the timeline records from → to.
document.getElementById("incident-fields").addEventListener("change", async (event) => {
  const field = event.target;
  try {
    showIfCurrent(await api("PATCH", `/api/v1/incidents/${incidentId}/`, { [field.name]: field.value || null }));
    await refresh();
  } catch (error) {
    flash(error.message);
  }
});

document.getElementById("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = document.getElementById("note");
  try {
    addEntries([await api("POST", `/api/v1/incidents/${incidentId}/notes/`, { text: text.value })]);
    text.value = "";
  } catch (error) {
    flash(error.message);
  }
});

showIncident(state.incident);
showAlerts(state.alerts);
addEntries(state.timeline);
showChecklists(state.checklists);
showRunbookChoice(state.runbooks);
keepTimesFresh();
// After a resync the pushed versions are forgotten: the reload includes the incident itself.
const stream = openStream("/ws/alerts", { since: state.seq, onResync: () => refresh({ incident: true }) });
stream.noteVersions("incident", [state.incident]);
stream.on("incident", (message) => {
  if (message.data.id !== incidentId) return;
  showIncident(message.data);
  refresh();
});
stream.on("alert", (message) => {
  if (message.data.incident === incidentId) refresh();
});
stream.on("alert_deleted", (message) => {
  document.getElementById(`incident-alert-${Number(message.data.id)}`)?.remove();
});
window.opsconsoleIncident = { evidenceCharts, stream };
