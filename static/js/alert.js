// One alert: its facts, its timeline, its metric around the firing, and the on-call actions; live over /ws/alerts.
import { chartColors, chartTheme, chartTooltip, openStream, pageState } from "./console.js";
import { askAcknowledgement, askIncident, askResolution } from "./alert-dialogs.js";
import { startRangePicker } from "./timerange.js";
import { addTimelineEntries } from "./timeline.js";
import { api, clock, duration, el, flash, format, gettext, keepTimesFresh, timeAgo, word } from "./ui.js";

const state = pageState("alert-state");
let alert = state.alert;
const seen = new Set();
const timeline = document.getElementById("alert-timeline");
const chartElement = document.getElementById("alert-chart");
const LEAD_MS = 30 * 60000; // the chart starts this long before the firing, to show what led to it
const CHART_REFRESH_MS = 15000;
const FEW_POINTS = 30;
let drawn = []; // [{name, tags, points}]

const text = (id, value) => { document.getElementById(id).textContent = value; };
const yesNo = (value) => (value ? gettext("yes") : gettext("no"));
const number = (value) => (value === null || value === undefined ? "—" : String(Math.round(value * 1000) / 1000));
const seriesLabel = (series) => [series.name, ...Object.entries(series.tags).map(([k, v]) => `${k}=${v}`)].join(" ");
const sameTags = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

function who(at, actor) {
  return at ? `${clock(at)} · ${actor || "—"}` : "—";
}

function showAlert() {
  const severity = document.getElementById("alert-severity");
  severity.className = `sev ${alert.severity}`;
  severity.textContent = word(alert.severity);
  const status = document.getElementById("alert-status");
  status.className = `status ${alert.status}`;
  status.textContent = word(alert.status);
  document.documentElement.dataset.alertStatus = alert.status;
  text("alert-title", alert.title);
  text("alert-value", number(alert.value));
  text("alert-threshold", number(alert.threshold));
  text("alert-occurrences", String(alert.occurrences));
  text("alert-flapping", yesNo(alert.flapping));
  text("alert-silenced", yesNo(alert.silenced));
  const starts = document.getElementById("alert-starts");
  starts.dateTime = alert.starts_at;
  starts.textContent = `${clock(alert.starts_at)} (${timeAgo(alert.starts_at)})`;
  const lastSeen = document.getElementById("alert-last-seen");
  lastSeen.dateTime = alert.last_seen_at;
  lastSeen.textContent = timeAgo(alert.last_seen_at);
  text("alert-acknowledged", who(alert.acknowledged_at, alert.acknowledged_by));
  text("alert-resolved", alert.resolved_at ? `${who(alert.resolved_at, alert.resolved_by)}${alert.resolution ? ` — ${alert.resolution}` : ""}` : "—");
  const incident = document.getElementById("alert-incident");
  if (alert.incident) {
    const link = incident.querySelector("a");
    if (!link || link.getAttribute("href") !== `/incidents/${alert.incident}/`) {
      incident.replaceChildren(el("a", { href: `/incidents/${alert.incident}/` }, format(gettext("incident #%(id)s"), { id: alert.incident })));
    }
  } else {
    incident.textContent = "—";
  }
  document.getElementById("alert-labels").replaceChildren(...Object.entries(alert.labels || {}).map(([key, value]) => el("code", {}, `${key}=${value}`)));
  if (Array.isArray(alert.runbooks)) showRunbooks(alert.runbooks);
  document.getElementById("action-acknowledge").disabled = alert.status !== "firing";
  document.getElementById("action-resolve").disabled = alert.status === "resolved";
  document.getElementById("action-incident").disabled = Boolean(alert.incident);
  document.getElementById("action-silence").hidden = !Object.keys(alert.labels || {}).length;
  tick();
}

function showRunbooks(runbooks) {
  const box = document.getElementById("alert-runbooks");
  box.hidden = runbooks.length === 0;
  box.querySelector("ul").replaceChildren(...runbooks.map((runbook) => el("li", {}, el("a", { href: runbook.url }, runbook.title))));
}

// "Firing for" counts from the firing until now, or until the resolution.
function tick() {
  const until = alert.resolved_at ? Date.parse(alert.resolved_at) : Date.now();
  text("firing-for", alert.starts_at ? duration((until - Date.parse(alert.starts_at)) / 1000) : "—");
}

function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// The firing, acknowledgement and resolution as vertical lines; the threshold as a horizontal one.
function marks() {
  const data = [];
  const mark = (at, name, colour) => {
    if (at) data.push({ xAxis: Date.parse(at), name, lineStyle: { color: cssColor(colour) }, label: { color: cssColor(colour) } });
  };
  mark(alert.starts_at, gettext("fired"), "--crit");
  mark(alert.acknowledged_at, gettext("acknowledged"), "--warn");
  mark(alert.resolved_at, gettext("resolved"), "--ok");
  if (alert.threshold !== null && alert.threshold !== undefined) {
    data.push({ yAxis: alert.threshold, name: gettext("threshold"), lineStyle: { color: cssColor("--muted") }, label: { color: cssColor("--muted"), position: "insideEndTop" } });
  }
  return {
    symbol: "none", silent: true, animation: false,
    lineStyle: { type: "dashed", width: 1.5 },
    label: { formatter: "{b}", position: "end" },
    data,
  };
}

// The default range ("around the firing", no minutes) starts before the firing and runs until now.
const picker = startRangePicker({ fallback: null, onChange: () => loadChart() });

function range() {
  const { from, to, minutes } = picker.range;
  if (from !== undefined) return { start: from, end: to };
  if (minutes !== null) return { start: Date.now() - minutes * 60000, end: Date.now() };
  const start = Date.parse(alert.starts_at) - LEAD_MS;
  return { start, end: Math.max(Date.now(), start + LEAD_MS + 5 * 60000) };
}

function option() {
  const { start, end } = range();
  return {
    animation: false,
    backgroundColor: "transparent",
    color: chartColors(),
    legend: { top: 0, type: "scroll" },
    grid: { left: 48, right: 24, top: 56, bottom: 32 },
    tooltip: chartTooltip("axis", (v) => (v == null ? "" : number(v))),
    xAxis: { type: "time", axisLabel: { hideOverlap: true }, min: start, max: end },
    yAxis: { type: "value", scale: true },
    series: drawn.map((series, index) => ({
      name: seriesLabel(series), type: "line", symbolSize: 5, showSymbol: series.points.length < FEW_POINTS, data: series.points,
      ...(index === 0 && { markLine: marks() }),
    })),
  };
}

async function seriesPoints(ref, start, end) {
  const params = new URLSearchParams({ name: ref.name, start: String(start / 1000), end: String(end / 1000) });
  for (const [key, value] of Object.entries(ref.tags)) params.append("tag", `${key}:${value}`);
  const answer = await api("GET", `/api/v1/metrics/query/?${params}`);
  // The query matches tags by containment: keep the series itself, not its supersets.
  const found = answer.series.find((series) => sameTags(series.tags, ref.tags));
  return { name: ref.name, tags: ref.tags, points: found ? found.points.map(([t, v]) => [t * 1000, v]) : [] };
}

async function loadChart() {
  if (!state.series.length) return;
  const { start, end } = range();
  try {
    drawn = await Promise.all(state.series.map((ref) => seriesPoints(ref, start, end)));
    chart.setOption(option(), { notMerge: true });
  } catch (error) {
    flash(error.message);
  }
}

async function refreshTimeline() {
  addTimelineEntries(timeline, seen, await api("GET", `/api/v1/alerts/${alert.id}/timeline/`));
}

async function changed(next) {
  alert = next;
  showAlert();
  chart.setOption(option(), { notMerge: true });
  await refreshTimeline();
}

async function act(path, body) {
  try {
    await changed(await api("POST", `/api/v1/alerts/${alert.id}/${path}/`, body));
  } catch (error) {
    flash(error.message);
  }
}

document.getElementById("action-acknowledge").addEventListener("click", async () => {
  const body = await askAcknowledgement();
  if (body) await act("acknowledge", body);
});

document.getElementById("action-resolve").addEventListener("click", async () => {
  const body = await askResolution(alert.title);
  if (body) await act("resolve", body);
});

document.getElementById("action-incident").addEventListener("click", async () => {
  const body = await askIncident({ title: alert.title, severity: alert.severity });
  if (!body) return;
  try {
    const incident = await api("POST", "/api/v1/incidents/", { ...body, alerts: [alert.id] });
    location.assign(`/incidents/${incident.id}/`);
  } catch (error) {
    flash(error.message);
  }
});

// Without a series there is nothing to draw: the explanation takes the chart's place.
chartElement.hidden = state.series.length === 0;
document.querySelector(".chart-range").hidden = state.series.length === 0;
document.getElementById("no-series").hidden = state.series.length > 0;
let chart = echarts.init(chartElement, chartTheme());
window.addEventListener("resize", () => chart.resize());
document.addEventListener("opsconsole:theme", () => {
  chart.dispose();
  chart = echarts.init(chartElement, chartTheme());
  chart.setOption(option(), { notMerge: true });
});

showAlert();
addTimelineEntries(timeline, seen, state.timeline);
keepTimesFresh();
setInterval(tick, 1000);
loadChart();
setInterval(() => { if (!document.hidden) loadChart(); }, CHART_REFRESH_MS);

const stream = openStream("/ws/alerts", {
  since: state.seq,
  onResync: async () => changed(await api("GET", `/api/v1/alerts/${alert.id}/`)),
});
stream.on("alert", (message) => {
  if (message.data.id === alert.id) changed(message.data);
});
stream.on("alert_deleted", (message) => {
  if (message.data.id !== alert.id) return;
  document.getElementById("alert-deleted").hidden = false;
  for (const button of document.querySelectorAll("#alert-actions button")) button.disabled = true;
});
window.opsconsoleAlert = { get alert() { return alert; }, get chart() { return chart; }, get range() { return picker.range; }, stream };
