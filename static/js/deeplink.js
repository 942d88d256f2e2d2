// A page's filters live in its URL (?status=…&search=…), so a reload or a pasted link shows the same view.

/** Sets `form`'s named fields from the URL's query; names the form lacks are ignored. */
export function fillFromUrl(form) {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of params) {
    const field = form.elements.namedItem(name);
    if (!field || field instanceof RadioNodeList) continue;
    if (field.tagName === "SELECT" && ![...field.options].some((option) => option.value === value)) continue;
    field.value = value;
  }
}

/** Writes `values` into the URL in place (no history entry); a value equal to its default is left out. */
export function writeToUrl(values, defaults = {}) {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null || String(value) === String(defaults[name] ?? "")) params.delete(name);
    else params.set(name, String(value));
  }
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
}
