// Captured evidence: the frozen series of a capture drawn as a chart in the incident's timeline.
import { chartColors, chartTheme, chartTooltip } from "./console.js";
import { clock, el, format, gettext } from "./ui.js";

const FEW_POINTS = 30;
const charts = new Map(); // evidence id -> ECharts instance

const number = (value) => (value === null || value === undefined ? "—" : String(Math.round(value * 1000) / 1000));
const seriesLabel = (series) => [series.name, ...Object.entries(series.tags).map(([k, v]) => `${k}=${v}`)].join(" ");

function option(evidence) {
  return {
    animation: false,
    backgroundColor: "transparent",
    color: chartColors(),
    legend: { top: 0, type: "scroll" },
    grid: { left: 44, right: 12, top: 40, bottom: 28 },
    tooltip: chartTooltip("axis", (v) => (v == null ? "" : number(v))),
    xAxis: { type: "time", axisLabel: { hideOverlap: true }, min: Date.parse(evidence.start), max: Date.parse(evidence.end) },
    yAxis: { type: "value", scale: true },
    series: evidence.series.map((series) => ({
      name: seriesLabel(series), type: "line", symbolSize: 5, showSymbol: series.points.length < FEW_POINTS,
      data: series.points.map(([t, v]) => [t * 1000, v]),
    })),
  };
}

function statsLine(series) {
  const { min, avg, max, last } = series.stats;
  return el("li", {}, el("code", {}, seriesLabel(series)), " ",
    format(gettext("min %(min)s · avg %(avg)s · max %(max)s · last %(last)s"), { min: number(min), avg: number(avg), max: number(max), last: number(last) }),
    series.unit ? ` ${series.unit}` : "");
}

/** Draws each capture in `evidence` whose place in the timeline has no chart yet. */
export function drawEvidence(root, evidence) {
  for (const capture of evidence) {
    const place = root.querySelector(`.evidence[data-evidence="${capture.id}"]`);
    if (!place || charts.has(capture.id)) continue;
    const span = format(gettext("%(start)s to %(end)s"), { start: clock(capture.start), end: clock(capture.end) });
    const chart = el("div", { class: "evidence-chart", role: "img", "aria-label": format(gettext("Evidence %(id)s"), { id: capture.id }) });
    place.replaceChildren(el("div", { class: "muted small" }, span), chart, el("ul", { class: "evidence-stats small" }, capture.series.map(statsLine)));
    const instance = echarts.init(chart, chartTheme());
    instance.setOption(option(capture));
    charts.set(capture.id, { instance, capture });
  }
}

/** The ids of captures the timeline shows but has not drawn. */
export function undrawn(root) {
  return [...root.querySelectorAll(".evidence[data-evidence]")].map((place) => Number(place.dataset.evidence)).filter((id) => !charts.has(id));
}

window.addEventListener("resize", () => charts.forEach(({ instance }) => instance.resize()));
document.addEventListener("opsconsole:theme", () => {
  for (const [id, { instance, capture }] of charts) {
    const element = instance.getDom();
    instance.dispose();
    const redrawn = echarts.init(element, chartTheme());
    redrawn.setOption(option(capture));
    charts.set(id, { instance: redrawn, capture });
  }
});

export const evidenceCharts = charts;
