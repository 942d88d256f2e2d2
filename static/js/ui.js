// Small helpers every page uses: safe element building, REST calls with CSRF, times, translation.

/** The page language's text for `text` (Django's JavaScript catalog, /jsi18n/); English without it. */
export function gettext(text) {
  return typeof window.gettext === "function" ? window.gettext(text) : text;
}

/** The singular or plural text for `count` in the page language (the catalog's plural rules). */
export function ngettext(singular, plural, count) {
  return typeof window.ngettext === "function" ? window.ngettext(singular, plural, count) : count === 1 ? singular : plural;
}

// The words the data carries (statuses, severities), spelled out so makemessages extracts them.
const WORDS = {
  firing: gettext("firing"), acknowledged: gettext("acknowledged"), resolved: gettext("resolved"),
  critical: gettext("critical"), warning: gettext("warning"), info: gettext("info"),
  open: gettext("open"), investigating: gettext("investigating"), mitigated: gettext("mitigated"),
};

/** A status or severity from the data in the page language; an unknown value as it is. */
export function word(value) {
  return WORDS[value] ?? value;
}

/** `text` with its %(name)s placeholders filled from `values` (the result is text: insert it with textContent). */
export function format(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

/** Builds an element; children are nodes or text (always inserted as text, never as HTML). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** Calls the REST API with the session and CSRF token; rejects with the server's JSON reason. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const reason = data && (data.detail || Object.entries(data).map(([k, v]) => `${k}: ${v}`).join("; "));
    throw new Error(reason || `${response.status} ${response.statusText}`);
  }
  return data;
}

/** A wall-clock time, 24-hour in every language (an on-call log is read across time zones and habits). */
export function clock(at) {
  return new Date(at).toLocaleTimeString(document.documentElement.lang || "en", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" });

export function timeAgo(iso) {
  if (!iso) return "";
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") return relative.format(Math.round(seconds / size), unit);
  }
  return "";
}

/** Re-renders every <time data-relative> each 15 s so "2 minutes ago" stays true. */
export function keepTimesFresh(root = document) {
  const refresh = () => root.querySelectorAll("time[data-relative]").forEach((node) => { node.textContent = timeAgo(node.dateTime); });
  refresh();
  setInterval(refresh, 15000);
}

export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.replaceChildren(el("p", { class: `flash ${kind}`, role: "alert" }, message));
  setTimeout(() => box.replaceChildren(), 6000);
}

/** A span of seconds as "3 d 4 h", "2 h 5 min", "4 min 10 s" or "12 s": the two largest units. */
export function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const [d, h, m, s] = [Math.floor(total / 86400), Math.floor(total / 3600) % 24, Math.floor(total / 60) % 60, total % 60];
  if (d) return format(gettext("%(d)s d %(h)s h"), { d, h });
  if (h) return format(gettext("%(h)s h %(m)s min"), { h, m });
  if (m) return format(gettext("%(m)s min %(s)s s"), { m, s });
  return format(gettext("%(s)s s"), { s });
}
