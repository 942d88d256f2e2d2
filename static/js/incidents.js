// The incident list: opens incidents and follows `incident` events.
import { openStream, pageState } from "./console.js";
import { fillFromUrl, writeToUrl } from "./deeplink.js";
import { api, el, flash, gettext, keepTimesFresh, timeAgo, word } from "./ui.js";

const state = pageState("incidents-state");
const incidents = new Map(state.incidents.map((incident) => [incident.id, incident]));
const table = document.querySelector("#incident-table tbody");
const filters = document.getElementById("incident-filters");

function matches(incident) {
  const { status, search } = Object.fromEntries(new FormData(filters));
  if (status === "active" && incident.status === "resolved") return false;
  if (status && status !== "active" && incident.status !== status) return false;
  const needle = (search || "").trim().toLowerCase();
  return !needle || `${incident.title} ${incident.commander || ""} #${incident.id}`.toLowerCase().includes(needle);
}

function render() {
  const rows = [...incidents.values()].filter(matches).sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at)).map((incident) =>
    el("tr", { id: `incident-${incident.id}`, class: incident.status },
      el("td", {}, el("a", { href: `/incidents/${incident.id}/` }, `#${incident.id}`)),
      el("td", {}, el("span", { class: `sev ${incident.severity}` }, word(incident.severity))),
      el("td", {}, el("span", { class: `status ${incident.status}` }, word(incident.status))),
      el("td", { class: "title" }, el("a", { href: `/incidents/${incident.id}/` }, incident.title)),
      el("td", { "data-label": gettext("Commander") }, incident.commander || "—"),
      el("td", { "data-label": gettext("Alerts") }, String(incident.alerts.length)),
      el("td", { "data-label": gettext("Opened") }, el("time", { datetime: incident.opened_at, "data-relative": true }, timeAgo(incident.opened_at)))));
  table.replaceChildren(...rows);
  document.getElementById("no-incidents").hidden = rows.length > 0;
}

document.getElementById("new-incident").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.currentTarget));
  try {
    const incident = await api("POST", "/api/v1/incidents/", { title: form.title, severity: form.severity });
    location.assign(`/incidents/${incident.id}/`);
  } catch (error) {
    flash(error.message);
  }
});

filters.addEventListener("input", () => {
  writeToUrl(Object.fromEntries(new FormData(filters)), { status: "", search: "" });
  render();
});
filters.addEventListener("submit", (event) => event.preventDefault());
fillFromUrl(filters);
render();
keepTimesFresh();
const stream = openStream("/ws/alerts", { since: state.seq, onResync: () => location.reload() });
stream.noteVersions("incident", state.incidents); // a replayed older copy cannot replace what the page shows
stream.subscribe(["incident", "alert_deleted"]);
stream.on("incident", (message) => {
  incidents.set(message.data.id, message.data);
  render();
});
// The alert counts of the list: a deleted alert no longer counts.
stream.on("alert_deleted", (message) => {
  for (const incident of incidents.values()) incident.alerts = incident.alerts.filter((id) => id !== message.data.id);
  render();
});
