// The status page: each component's last report, live from /ws/status, and the configuration and process events.
import { openStream, pageState } from "./console.js";
import { clock, el, format, gettext } from "./ui.js";

const LOG_LIMIT = 50;
const state = pageState("status-state");
const rows = document.getElementById("component-rows");

/** "12 s ago", "3 min ago": short enough for a phone's column, ticking every second. */
function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 120) return format(gettext("%(n)s s ago"), { n: seconds });
  if (seconds < 7200) return format(gettext("%(n)s min ago"), { n: Math.round(seconds / 60) });
  return format(gettext("%(n)s h ago"), { n: Math.round(seconds / 3600) });
}

function detailsText(details) {
  const entries = Object.entries(details || {});
  return entries.length ? entries.map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`).join(", ") : "";
}

// A component that said it stopped is not expected to report (components.services.NOT_EXPECTED).
const NOT_EXPECTED = new Set(["stopped"]);

/** Missed by the server's check, or already past its due time here: the check may be what stopped. */
function isMissing(component) {
  return component.missed || (!NOT_EXPECTED.has(component.status) && Date.now() > Date.parse(component.due_at));
}

function badge(component) {
  const missing = isMissing(component);
  return el("span", { class: "status-badge", dataset: { status: component.status, missed: String(missing) } },
    missing ? gettext("missing") : component.status);
}

function row(component) {
  return el("tr", { dataset: { component: component.component } },
    el("th", { scope: "row", class: "component-name" }, component.component),
    el("td", {}, badge(component)),
    el("td", {}, el("time", { class: "report-age", datetime: component.last_check }, age(component.last_check))),
    el("td", { class: "expect", dataset: { label: gettext("every") } }, `${component.expect_every} s`),
    el("td", { class: "details" }, el("code", {}, detailsText(component.details))));
}

const known = new Map();

function showComponent(component) {
  known.set(component.component, component);
  const fresh = row(component);
  const existing = rows.querySelector(`tr[data-component="${CSS.escape(component.component)}"]`);
  if (existing) {
    existing.replaceWith(fresh);
  } else {
    const after = [...rows.children].find((other) => other.dataset.component > component.component);
    rows.insertBefore(fresh, after || null);
  }
  document.getElementById("no-components").hidden = true;
}

function tickAges() {
  for (const time of rows.querySelectorAll("time.report-age")) time.textContent = age(time.dateTime);
  for (const component of known.values()) {
    const shown = rows.querySelector(`tr[data-component="${CSS.escape(component.component)}"] .status-badge`);
    if (shown && shown.dataset.missed !== String(isMissing(component))) shown.replaceWith(badge(component));
  }
}

const ACTIONS = { created: gettext("created"), changed: gettext("changed"), deleted: gettext("deleted") };
const SERVICE_EVENTS = { started: gettext("started"), stopped: gettext("stopped") };

function eventText(type, data) {
  if (type === "config") {
    // The object's own name usually says what it is ("silence {…} until …"): the kind is a tag beside it.
    return [el("code", { class: "object-kind" }, data.object), " ", format(gettext("%(name)s %(action)s by %(who)s"), {
      name: data.name || `#${data.id}`, action: ACTIONS[data.action] || data.action, who: data.updated_by,
    })];
  }
  return format(gettext("%(service)s %(event)s (pid %(pid)s on %(host)s, version %(version)s)"), {
    service: data.service, event: SERVICE_EVENTS[data.event] || data.event, pid: data.pid, host: data.host || "", version: data.version,
  });
}

function logEvent(type, data, at) {
  const log = document.getElementById("system-log");
  log.prepend(el("li", { class: `log-${type}`, dataset: { type } }, el("time", { datetime: at }, clock(at)), " ", eventText(type, data)));
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

rows.replaceChildren();
state.components.forEach(showComponent);
for (const event of [...state.events].reverse()) logEvent(event.type, event.data, event.data.at);
setInterval(tickAges, 1000);

const stream = openStream("/ws/status", {
  since: state.seq,
  pollUrl: "/api/v1/components/",
  onPoll: (page) => (page.results || page).forEach(showComponent),
});
stream.on("status", (message) => showComponent(message.data));
stream.on("config", (message) => logEvent("config", message.data, message.data.at || message.timestamp));
stream.on("system", (message) => logEvent("system", message.data, message.data.at || message.timestamp));
