// Silences: active, upcoming and recently ended ones; a form with a live preview of what its matchers catch.
import { openStream, pageState } from "./console.js";
import { api, clock, el, flash, format, gettext, keepTimesFresh, ngettext, timeAgo, word } from "./ui.js";

const state = pageState("silences-state");
const silences = new Map(state.silences.map((silence) => [silence.id, silence]));
const form = document.getElementById("silence-form");
const matchersBox = document.getElementById("silence-matchers");
const RECENTLY_ENDED_MS = 7 * 86400000; // as the page's first paint (alerts.views.silence_list)
const WEEKDAYS = [gettext("Mon"), gettext("Tue"), gettext("Wed"), gettext("Thu"), gettext("Fri"), gettext("Sat"), gettext("Sun")];
const PREVIEW_DELAY_MS = 250;

function phase(silence, now = Date.now()) {
  if (Date.parse(silence.ends_at) <= now) return "ended";
  return Date.parse(silence.starts_at) > now ? "upcoming" : "active";
}

function when(at) {
  const moment = new Date(at);
  const sameDay = moment.toDateString() === new Date().toDateString();
  const day = sameDay ? "" : `${moment.toLocaleDateString(document.documentElement.lang || "en", { month: "short", day: "numeric" })} `;
  return el("time", { datetime: at, title: at }, `${day}${clock(at).slice(0, 5)}`);
}

function recurrence(silence) {
  if (!silence.repeat_days || !silence.repeat_days.length) return null;
  const days = silence.repeat_days.map((day) => WEEKDAYS[day]).join(" ");
  const minutes = Math.round((silence.repeat_duration || 0) / 60);
  return el("div", { class: "muted" }, "↻ ", format(gettext("%(days)s from %(start)s for %(minutes)s min (%(zone)s)"), {
    days, start: (silence.repeat_start || "").slice(0, 5), minutes, zone: silence.timezone,
  }));
}

function item(silence) {
  const current = phase(silence);
  const span = current === "upcoming"
    ? [gettext("starts"), " ", when(silence.starts_at), " ", el("span", { class: "muted" }, `(${timeAgo(silence.starts_at)})`), " · ", gettext("ends"), " ", when(silence.ends_at)]
    : current === "active"
      ? [gettext("ends"), " ", when(silence.ends_at), " ", el("span", { class: "muted" }, `(${timeAgo(silence.ends_at)})`)]
      : [gettext("ended"), " ", when(silence.ends_at), " ", el("span", { class: "muted" }, `(${timeAgo(silence.ends_at)})`)];
  return el("li", { id: `silence-${silence.id}`, dataset: { phase: current } },
    el("div", { class: "labels" }, Object.entries(silence.matchers).map(([key, value]) => el("code", {}, `${key}=${value}`))),
    el("div", {}, ...span),
    recurrence(silence),
    el("div", {}, silence.comment, " ", el("span", { class: "muted" }, `— ${silence.created_by}`)),
    current === "ended" ? null : el("button", { type: "button", class: "action", dataset: { expire: silence.id } }, current === "active" ? gettext("Expire now") : gettext("Cancel")));
}

function render() {
  const now = Date.now();
  const groups = { active: [], upcoming: [], ended: [] };
  for (const silence of silences.values()) {
    const current = phase(silence, now);
    if (current === "ended" && now - Date.parse(silence.ends_at) > RECENTLY_ENDED_MS) continue;
    groups[current].push(silence);
  }
  groups.active.sort((a, b) => Date.parse(a.ends_at) - Date.parse(b.ends_at));
  groups.upcoming.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  groups.ended.sort((a, b) => Date.parse(b.ends_at) - Date.parse(a.ends_at));
  for (const [name, list] of Object.entries(groups)) {
    document.getElementById(`silences-${name}`).replaceChildren(...list.map(item));
    document.getElementById(`none-${name}`).hidden = list.length > 0;
  }
}

/** The matchers typed, one `label=value` a line; throws with the line that is not one. */
function parseMatchers(textValue) {
  const matchers = {};
  for (const line of textValue.split("\n").map((each) => each.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(format(gettext("“%(line)s” is not label=value."), { line }));
    matchers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return matchers;
}

let previewTimer = null;
let previewRound = 0;

async function preview() {
  const round = ++previewRound;
  const count = document.getElementById("preview-count");
  const list = document.getElementById("silence-preview");
  let matchers;
  try {
    matchers = parseMatchers(matchersBox.value);
  } catch (error) {
    count.textContent = error.message;
    list.replaceChildren();
    return;
  }
  if (!Object.keys(matchers).length) {
    count.textContent = "";
    list.replaceChildren();
    return;
  }
  try {
    const answer = await api("POST", "/api/v1/silences/preview/", { matchers });
    if (round !== previewRound) return; // a newer preview is on its way
    count.dataset.count = answer.count;
    count.textContent = answer.count === 0
      ? gettext("These matchers catch no unresolved alert now.")
      : format(ngettext("Catches %(count)s unresolved alert now:", "Catches %(count)s unresolved alerts now:", answer.count), { count: answer.count });
    list.replaceChildren(...answer.alerts.map((alert) => el("li", { class: `sev-border ${alert.severity}`, dataset: { alert: alert.id } },
      el("span", { class: `status ${alert.status}` }, word(alert.status)), " ", el("a", { href: `/alerts/${alert.id}/` }, alert.title))));
  } catch (error) {
    if (round === previewRound) count.textContent = error.message;
  }
}

function previewSoon() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
}

function localMoment(value) {
  return value ? new Date(value).toISOString() : null; // datetime-local is the browser's local time
}

function body() {
  const data = new FormData(form);
  const startsAt = localMoment(data.get("starts_at"));
  const from = startsAt ? Date.parse(startsAt) : Date.now();
  const endsAt = data.get("ends") === "at"
    ? localMoment(data.get("ends_at"))
    : new Date(from + Number(data.get("duration")) * 60000).toISOString();
  if (!endsAt) throw new Error(gettext("Give the end, or choose a duration."));
  const silence = { matchers: parseMatchers(matchersBox.value), ends_at: endsAt, comment: data.get("comment") };
  if (startsAt) silence.starts_at = startsAt;
  const days = data.getAll("repeat_days").map(Number);
  if (days.length || data.get("repeat_start") || data.get("repeat_minutes")) {
    Object.assign(silence, {
      repeat_days: days,
      repeat_start: data.get("repeat_start") || null,
      repeat_duration: data.get("repeat_minutes") ? Number(data.get("repeat_minutes")) * 60 : null,
      timezone: data.get("timezone") || "UTC",
    });
  }
  return silence;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const silence = await api("POST", "/api/v1/silences/", body());
    silences.set(silence.id, silence);
    render();
    document.getElementById(`silence-${silence.id}`)?.classList.add("fresh");
    flash(gettext("Silence created; matching alerts go quiet within seconds."), "ok");
  } catch (error) {
    flash(error.message);
  }
});

document.querySelector(".two-columns").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-expire]");
  if (!button) return;
  try {
    const silence = await api("POST", `/api/v1/silences/${button.dataset.expire}/expire/`);
    silences.set(silence.id, silence);
    render();
  } catch (error) {
    flash(error.message);
  }
});

async function reload() {
  const page = await api("GET", "/api/v1/silences/?page_size=200");
  silences.clear();
  for (const silence of page.results) silences.set(silence.id, silence);
  render();
}

// "Silence similar" on an alert's page links here with its labels: ?match=host%3Ddb-1&match=…
const linked = new URLSearchParams(location.search).getAll("match");
if (linked.length) matchersBox.value = linked.join("\n");
document.getElementById("silence-timezone").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
matchersBox.addEventListener("input", previewSoon);
render();
preview();
keepTimesFresh();
setInterval(render, 15000); // upcoming ones start, active ones end
setInterval(() => { if (!document.hidden) reload().catch(() => {}); }, 30000);

const stream = openStream("/ws/alerts", { since: state.seq, onResync: reload });
// The preview is "what the matchers catch now": alerts that fire or resolve change it.
stream.on("alert", previewSoon);
stream.on("alert_deleted", previewSoon);
window.opsconsoleSilences = { silences, stream };
