// The metrics explorer: history from the query API, extended live by `metrics` pushes.
import { chartColors, chartTheme, chartTooltip, openStream, pageState } from "./console.js";
import { fillFromUrl, writeToUrl } from "./deeplink.js";
import { startRangePicker } from "./timerange.js";
import { api, el, flash } from "./ui.js";

const state = pageState("explorer-state");
const form = document.getElementById("explorer-form");
const chartElement = document.getElementById("explorer-chart");
let rangeStart = Date.now() - 3600000;
let rangeEnd = Date.now();
let picker = null; // the range picker, started once the form holds the URL's choice
const FEW_POINTS = 30; // below this, draw the dots: a line of one point is invisible
let shown = []; // [{key, name, tags, points}]

const seriesKey = (series) => `${series.name}|${JSON.stringify(Object.entries(series.tags).sort())}`;
const label = (series) => Object.entries(series.tags).map(([k, v]) => `${k}=${v}`).join(", ") || series.name;

/** The unit the senders gave (the series' own, "By/s" for a rate); shown on the value axis when they agree. */
function unitOf(list) {
  const units = new Set(list.map((series) => series.unit || ""));
  return units.size === 1 ? [...units][0] : "";
}

function option() {
  const unit = unitOf(shown);
  return {
    animation: false,
    backgroundColor: "transparent",
    color: chartColors(),
    legend: { top: 0, type: "scroll" },
    grid: { left: 56, right: 24, top: 36, bottom: 64 },
    tooltip: chartTooltip("axis", (v) => (v == null ? "" : `${Math.round(v * 1000) / 1000}${unit ? ` ${unit}` : ""}`)),
    // The axis is the chosen range, not the data's extent: one fresh point must not make a two-day axis.
    xAxis: { type: "time", axisLabel: { hideOverlap: true }, min: rangeStart, max: rangeEnd },
    yAxis: { type: "value", scale: true, name: unit, nameLocation: "end", nameGap: 12 },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 20, bottom: 12 }],
    series: shown.map((series) => ({
      name: label(series), type: "line", symbolSize: 5, showSymbol: series.points.length < FEW_POINTS, data: series.points,
    })),
  };
}

let loadRound = 0;
const isCustom = () => picker.range.from !== undefined;

/** The shown span: a custom range as chosen, a preset ending now. */
function span() {
  const { from, to, minutes } = picker.range;
  return from !== undefined ? { start: from, end: to } : { start: Date.now() - minutes * 60000, end: Date.now() };
}

async function load() {
  const { name, host, agg } = Object.fromEntries(new FormData(form));
  writeToUrl({ name, host, agg }, { name: "cpu_percent", host: "", agg: "avg" });
  if (!name) {
    document.getElementById("no-series").hidden = false;
    return;
  }
  ({ start: rangeStart, end: rangeEnd } = span());
  const params = new URLSearchParams({ name, agg, start: String(rangeStart / 1000), end: String(rangeEnd / 1000) });
  if (host) params.append("tag", `host:${host}`);
  const round = ++loadRound;
  try {
    const answer = await api("GET", `/api/v1/metrics/query/?${params}`);
    if (round !== loadRound) return; // a newer choice's answer is on its way: an older one must not win the race
    shown = answer.series.map((series) => ({ ...series, key: seriesKey(series), points: series.points.map(([t, v]) => [t * 1000, v]) }));
    document.getElementById("no-series").hidden = shown.length > 0;
    chart.setOption(option(), { notMerge: true });
  } catch (error) {
    flash(error.message);
  }
}

const RATE_RELOAD_MS = 30000;

function extend(message) {
  const { name, host, agg } = Object.fromEntries(new FormData(form));
  if (agg === "rate") return; // a pushed value is the counter itself, not its rate: the timer reloads instead
  if (isCustom()) return; // a chosen past range holds still
  let changed = false;
  let added = false;
  for (const latest of message.data.series) {
    if (latest.name !== name || (host && latest.tags.host !== host) || latest.value === null) continue;
    let series = shown.find((item) => item.key === seriesKey(latest));
    if (!series) { // a series born after the page loaded joins the chart
      series = { name: latest.name, tags: latest.tags, unit: latest.unit || "", key: seriesKey(latest), points: [] };
      shown.push(series);
      added = true;
    }
    const at = Date.parse(latest.timestamp);
    if (series.points.length && series.points[series.points.length - 1][0] >= at) continue;
    series.points.push([at, latest.value]);
    changed = true;
  }
  if (!changed) return;
  rangeEnd = Math.max(rangeEnd, Date.now());
  const start = (rangeStart = rangeEnd - picker.range.minutes * 60000);
  for (const series of shown) {
    const stale = series.points.findIndex(([at]) => at >= start);
    if (stale > 0) series.points.splice(0, stale);
  }
  document.getElementById("no-series").hidden = true;
  if (added) return chart.setOption(option(), { notMerge: true });
  chart.setOption({
    xAxis: { min: start, max: rangeEnd },
    series: shown.map((series) => ({ data: series.points, showSymbol: series.points.length < FEW_POINTS })),
  });
}

let chart = echarts.init(chartElement, chartTheme());
chart.setOption(option()); // axes at once, even before (or without) data
const names = document.getElementById("metric-name");
names.replaceChildren(...state.names.map((name) => el("option", { value: name, selected: name === "cpu_percent" }, name)));
document.getElementById("metric-host").append(...state.hosts.map((host) => el("option", { value: host }, host)));
// A metric or host in the URL that the page does not list yet (its first point is on its way) is offered anyway.
const linked = new URLSearchParams(location.search);
for (const [field, select] of [["name", names], ["host", document.getElementById("metric-host")]]) {
  const value = linked.get(field);
  if (value && ![...select.options].some((option) => option.value === value)) select.append(el("option", { value }, value));
}
fillFromUrl(form);
picker = startRangePicker({ fallback: 60, onChange: load });
form.addEventListener("change", load);
window.addEventListener("resize", () => chart.resize());
document.addEventListener("opsconsole:theme", () => {
  chart.dispose();
  chart = echarts.init(chartElement, chartTheme());
  chart.setOption(option());
});

load();
setInterval(() => { if (new FormData(form).get("agg") === "rate" && !isCustom()) load(); }, RATE_RELOAD_MS);
const stream = openStream("/ws/metrics", { since: state.seq, onResync: load });
stream.subscribe(["metrics"]);
stream.on("metrics", extend);
window.opsconsoleExplorer = { get shown() { return shown; }, get range() { return picker.range; }, stream };
