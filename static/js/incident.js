// One incident: status buttons, notes, and a timeline that grows live.
import { openStream, pageState } from "./console.js";
import { addTimelineEntries } from "./timeline.js";
import { api, el, flash, keepTimesFresh, word } from "./ui.js";

const state = pageState("incident-state");
const incidentId = state.incident.id;
const seen = new Set();

function addEntries(items) {
  addTimelineEntries(document.getElementById("timeline"), seen, items);
}

function showIncident(incident) {
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

async function refresh() {
  addEntries(await api("GET", `/api/v1/incidents/${incidentId}/timeline/`));
  const page = await api("GET", `/api/v1/alerts/?incident=${incidentId}&page_size=200`);
  showAlerts(page.results);
}

document.getElementById("status-buttons").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-status]");
  if (!button) return;
  try {
    showIncident(await api("PATCH", `/api/v1/incidents/${incidentId}/`, { status: button.dataset.status }));
    await refresh();
  } catch (error) {
    flash(error.message);
  }
});

// Severity and commander save as soon as they are chosen; the timeline records from → to.
document.getElementById("incident-fields").addEventListener("change", async (event) => {
  const field = event.target;
  try {
    showIncident(await api("PATCH", `/api/v1/incidents/${incidentId}/`, { [field.name]: field.value || null }));
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
keepTimesFresh();
const stream = openStream("/ws/alerts", { since: state.seq, onResync: refresh });
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
