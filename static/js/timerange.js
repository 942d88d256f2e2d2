// A chart's time range: a preset ("the last hour") or a custom from/to, kept in the URL (?minutes=60 or ?from=…&to=…).
import { writeToUrl } from "./deeplink.js";
import { gettext } from "./ui.js";

/** Why `from`–`to` (ms, NaN when unreadable) is not a range, or "" when it is one. */
export function rangeError(from, to) {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return gettext("Give both a start and an end time.");
  if (from >= to) return gettext("The start must be before the end.");
  return "";
}

/** A time as a datetime-local field shows it: the browser's local time, to the minute. */
export function localInput(at) {
  const date = new Date(at);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The range a query string names: {from, to} (ms) for a valid custom range,
 * else {minutes} when it is one of `presets`, else {minutes: fallback}.
 */
export function rangeFromQuery(search, presets, fallback) {
  const params = new URLSearchParams(search);
  if (params.has("from") || params.has("to")) {
    const [from, to] = [Date.parse(params.get("from")), Date.parse(params.get("to"))];
    if (!rangeError(from, to)) return { from, to };
  }
  const minutes = Number(params.get("minutes"));
  return { minutes: params.has("minutes") && presets.includes(minutes) ? minutes : fallback };
}

/**
 * Wires the preset buttons (#ranges button[data-minutes]; an empty value is the
 * page's own default) and the custom form (#custom-range). `onChange(range)`
 * runs on every choice; the choice is written to the URL first.
 */
export function startRangePicker({ fallback, onChange }) {
  const buttons = [...document.querySelectorAll("#ranges button[data-minutes]")];
  const minutesOf = (button) => (button.dataset.minutes === "" ? null : Number(button.dataset.minutes));
  const presets = buttons.map(minutesOf).filter((minutes) => minutes !== null);
  const form = document.getElementById("custom-range");
  const error = document.getElementById("custom-range-error");
  let range = rangeFromQuery(location.search, presets, fallback);

  const show = () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(range.from === undefined && minutesOf(button) === range.minutes));
    if (range.from !== undefined) {
      form.elements.namedItem("from").value = localInput(range.from);
      form.elements.namedItem("to").value = localInput(range.to);
    }
    form.classList.toggle("active", range.from !== undefined);
  };
  const choose = (next) => {
    range = next;
    const custom = range.from !== undefined;
    writeToUrl({
      minutes: custom ? null : range.minutes,
      from: custom ? new Date(range.from).toISOString() : null,
      to: custom ? new Date(range.to).toISOString() : null,
    }, { minutes: fallback ?? "" });
    show();
    onChange(range);
  };

  document.getElementById("ranges").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-minutes]");
    if (button) choose({ minutes: minutesOf(button) });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // A datetime-local value has no offset: the browser reads it as local time, as the user meant it.
    const [from, to] = ["from", "to"].map((name) => Date.parse(form.elements.namedItem(name).value));
    const problem = rangeError(from, to);
    error.textContent = problem;
    error.hidden = !problem;
    form.elements.namedItem("from").setAttribute("aria-invalid", String(Boolean(problem)));
    if (!problem) choose({ from, to });
  });
  show();
  return { get range() { return range; } };
}
