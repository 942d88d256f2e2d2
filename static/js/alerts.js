// The alert centre: a table that follows /ws/alerts, with acknowledge / resolve and "open incident".
import { askDialog, askIncident, askResolution } from "./alert-dialogs.js";
import { openStream, pageState } from "./console.js";
import { fillFromUrl, writeToUrl } from "./deeplink.js";
import { api, el, flash, keepTimesFresh, format, gettext, timeAgo, word } from "./ui.js";

const state = pageState("alerts-state");
const alerts = new Map(state.alerts.map((alert) => [alert.id, alert]));
const selected = new Set();
const table = document.querySelector("#alert-table tbody");
const filters = document.getElementById("alert-filters");
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };

function matches(alert) {
  const { status, severity, search } = Object.fromEntries(new FormData(filters));
  if (status === "active" && alert.status === "resolved") return false;
  if (status && status !== "active" && alert.status !== status) return false;
  if (severity && alert.severity !== severity) return false;
  const needle = (search || "").trim().toLowerCase();
  return !needle || `${alert.title} ${alert.source} ${alert.message}`.toLowerCase().includes(needle);
}

function actionButtons(alert) {
  const buttons = [];
  if (alert.status === "firing") {
    buttons.push(el("button", { type: "button", class: "action", dataset: { action: "acknowledge", id: alert.id } }, gettext("Acknowledge")));
  }
  if (alert.status !== "resolved") {
    buttons.push(el("button", { type: "button", class: "action", dataset: { action: "resolve", id: alert.id } }, gettext("Resolve")));
    if (!alert.silenced && Object.keys(alert.labels || {}).length) {
      buttons.push(el("button", { type: "button", class: "action", dataset: { action: "silence", id: alert.id } }, gettext("Silence…")));
    }
  }
  return buttons;
}

function row(alert) {
  const labels = Object.entries(alert.labels || {}).map(([key, value]) => el("code", {}, `${key}=${value}`));
  return el("tr", { id: `alert-${alert.id}`, class: alert.status, dataset: { status: alert.status } },
    el("td", {}, alert.status === "resolved" ? "" : el("input", {
      type: "checkbox", "aria-label": format(gettext("select alert %(id)s"), { id: alert.id }), checked: selected.has(alert.id), dataset: { select: alert.id },
    })),
    el("td", {}, el("span", { class: `sev ${alert.severity}` }, word(alert.severity))),
    el("td", {}, el("span", { class: `status ${alert.status}`, dataset: { value: alert.status } }, word(alert.status)),
      alert.silenced ? el("span", { class: "badge silenced", title: gettext("a silence holds its notifications") }, gettext("silenced")) : "",
      alert.flapping ? el("span", { class: "badge flapping", title: gettext("changing between firing and resolved again and again") }, gettext("flapping")) : ""),
    el("td", { class: "title" }, el("a", { href: `/alerts/${alert.id}/`, class: "alert-link" }, el("strong", {}, alert.title)), alert.message ? el("div", { class: "muted" }, alert.message) : null,
      el("div", { class: "labels" }, labels),
      alert.incident ? el("a", { href: `/incidents/${alert.incident}/` }, format(gettext("incident #%(id)s"), { id: alert.incident })) : null),
    el("td", {}, alert.source, el("div", { class: "muted" }, alert.category)),
    el("td", { "data-label": gettext("Last seen") }, el("time", { datetime: alert.last_seen_at, "data-relative": true, title: alert.last_seen_at }, timeAgo(alert.last_seen_at))),
    el("td", { "data-label": gettext("Count") }, String(alert.occurrences)),
    el("td", {}, actionButtons(alert)),
  );
}

function sortKey(alert) {
  return [alert.status === "resolved" ? 1 : 0, SEVERITY_RANK[alert.severity] ?? 3, -Date.parse(alert.last_seen_at)];
}

function compare(a, b) {
  const [x, y] = [sortKey(a), sortKey(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return b.id - a.id;
}

// Grouped by a label: a header per value with its count, each group collapsible
// (remembered while the page is open), groups in the order of their most urgent alert.
const collapsed = new Set();
const NO_VALUE = "—";

function groupedRows(visible, label) {
  const groups = new Map();
  for (const alert of visible) {
    const value = alert.labels?.[label] ?? NO_VALUE;
    if (!groups.has(value)) groups.set(value, []);
    groups.get(value).push(alert);
  }
  return [...groups].flatMap(([value, members]) => {
    const key = `${label}=${value}`;
    const open = !collapsed.has(key);
    const header = el("tr", { class: "group-row", dataset: { group: key } }, el("td", { colspan: 8 },
      el("button", { type: "button", class: "group-toggle", "aria-expanded": String(open), dataset: { group: key } },
        `${open ? "▾" : "▸"} ${key} · ${members.length}`)));
    return [header, ...(open ? members.map(row) : [])];
  });
}

function render() {
  const visible = [...alerts.values()].filter(matches).sort(compare);
  const label = filters.elements.namedItem("group").value;
  table.replaceChildren(...(label ? groupedRows(visible, label) : visible.map(row)));
  showFocus();
  document.getElementById("no-alerts").hidden = visible.length > 0;
  document.getElementById("open-incident").disabled = selected.size === 0;
}

function upsert(alert, fresh = false) {
  // A push that crossed a newer REST answer (or copy) is older than the row shown: keep the row.
  if ((alerts.get(alert.id)?.version ?? -1) > alert.version) return;
  alerts.set(alert.id, alert);
  if (alert.status === "resolved") selected.delete(alert.id);
  render();
  if (fresh) document.getElementById(`alert-${alert.id}`)?.classList.add("fresh");
}

async function silenceSimilar(id) {
  const alert = alerts.get(id);
  const dialog = document.getElementById("silence-dialog");
  document.getElementById("silence-matchers").replaceChildren(...Object.entries(alert.labels).map(([key, value]) =>
    el("label", {}, el("input", { type: "checkbox", checked: true, dataset: { key, value } }), ` ${key}=${value}`)));
  if ((await askDialog(dialog)) !== "confirm") return;
  const matchers = Object.fromEntries([...dialog.querySelectorAll("#silence-matchers input:checked")].map((box) => [box.dataset.key, box.dataset.value]));
  const minutes = Number(document.getElementById("silence-duration").value);
  try {
    await api("POST", "/api/v1/silences/", {
      matchers, starts_at: new Date().toISOString(), ends_at: new Date(Date.now() + minutes * 60000).toISOString(),
      comment: document.getElementById("silence-comment").value,
    });
    flash(gettext("Silence created; matching alerts go quiet within seconds."), "ok");
  } catch (error) {
    flash(error.message);
  }
}

async function act(action, id) {
  if (action === "silence") return silenceSimilar(id);
  let body;
  if (action === "resolve") {
    body = await askResolution(alerts.get(id).title);
    if (!body) return;
  }
  try {
    upsert(await api("POST", `/api/v1/alerts/${id}/${action}/`, body ?? {}));
  } catch (error) {
    flash(error.message);
  }
}

async function openIncident() {
  const first = alerts.get([...selected][0]);
  const body = await askIncident({ title: first ? first.title : "", severity: "warning" });
  if (!body) return;
  try {
    const incident = await api("POST", "/api/v1/incidents/", { ...body, alerts: [...selected] });
    location.assign(`/incidents/${incident.id}/`);
  } catch (error) {
    flash(error.message);
  }
}

table.addEventListener("click", (event) => {
  const toggle = event.target.closest("button.group-toggle");
  if (toggle) {
    if (!collapsed.delete(toggle.dataset.group)) collapsed.add(toggle.dataset.group);
    return render();
  }
  const button = event.target.closest("button[data-action]");
  if (button) act(button.dataset.action, Number(button.dataset.id));
});
table.addEventListener("change", (event) => {
  const box = event.target.closest("input[data-select]");
  if (!box) return;
  const id = Number(box.dataset.select);
  if (box.checked) selected.add(id); else selected.delete(id);
  document.getElementById("open-incident").disabled = selected.size === 0;
});
const FILTER_DEFAULTS = { status: "active", severity: "", search: "", group: "" };
filters.addEventListener("input", () => {
  writeToUrl(Object.fromEntries(new FormData(filters)), FILTER_DEFAULTS);
  render();
});
filters.addEventListener("submit", (event) => event.preventDefault());
document.getElementById("open-incident").addEventListener("click", openIncident);

// Keys, as in mail and ticket tools: j/k move, a acknowledge, r resolve, s silence,
// Enter open, / search, ? help. Not while typing or while a dialog is open.
let focusedId = null;

function focusRow(step) {
  const rows = [...table.querySelectorAll("tr[id^='alert-']")];
  if (!rows.length) return;
  const at = rows.findIndex((tr) => tr.id === `alert-${focusedId}`);
  const next = rows[Math.min(rows.length - 1, Math.max(0, at === -1 ? 0 : at + step))];
  focusedId = Number(next.id.slice("alert-".length));
  showFocus();
  next.scrollIntoView({ block: "nearest" });
}

function showFocus() {
  for (const tr of table.querySelectorAll("tr.focused")) tr.classList.remove("focused");
  document.getElementById(`alert-${focusedId}`)?.classList.add("focused");
}

const KEY_ACTIONS = { a: "acknowledge", r: "resolve", s: "silence" };

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const alert = alerts.get(focusedId);
  if (event.key === "j" || event.key === "k") focusRow(event.key === "j" ? 1 : -1);
  else if (event.key === "/") filters.elements.namedItem("search").focus();
  else if (event.key === "?") document.getElementById("keys-dialog").showModal();
  else if (event.key === "Enter" && alert) location.assign(`/alerts/${alert.id}/`);
  else if (KEY_ACTIONS[event.key] && alert && document.querySelector(`#alert-${alert.id} button[data-action=${KEY_ACTIONS[event.key]}]`)) act(KEY_ACTIONS[event.key], alert.id);
  else return;
  event.preventDefault();
});

function drop(id) {
  alerts.delete(id);
  selected.delete(id);
  render();
}

// The rows the server renders on first paint (alerts.views.alert_centre).
const UNRESOLVED_URL = "/api/v1/alerts/?status=firing&status=acknowledged&page_size=200";
const RESOLVED_URL = "/api/v1/alerts/?status=resolved&page_size=50";

// A resync or a poll replaces the list with the server's, never merges into
// it: a row deleted while the socket was down must go too.
function replaceAll(list) {
  alerts.clear();
  for (const alert of list) alerts.set(alert.id, alert);
  for (const id of selected) if (alerts.get(id)?.status !== "firing" && alerts.get(id)?.status !== "acknowledged") selected.delete(id);
  render();
}

async function takeUnresolved(page) {
  replaceAll([...page.results, ...(await api("GET", RESOLVED_URL)).results]);
}

async function reload() {
  await takeUnresolved(await api("GET", UNRESOLVED_URL));
}

fillFromUrl(filters);
render();
keepTimesFresh();

const stream = openStream("/ws/alerts", { since: state.seq, pollUrl: UNRESOLVED_URL, onPoll: takeUnresolved, onResync: reload });
stream.on("alert", (message) => upsert(message.data, true));
stream.on("alert_deleted", (message) => drop(message.data.id));
window.opsconsoleAlerts = { alerts, stream };
