// The on-call dialogs the alert centre and an alert's page share (templates/alerts/action_dialogs.html).

/** Opens a <dialog> and resolves with the value of the button that closed it ("confirm", "cancel"). */
export function askDialog(dialog) {
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
}

const field = (id) => document.getElementById(id);

/** The acknowledge request's body, or null when cancelled. */
export async function askAcknowledgement() {
  field("acknowledge-comment").value = "";
  if ((await askDialog(field("acknowledge-dialog"))) !== "confirm") return null;
  return { comment: field("acknowledge-comment").value };
}

/** The resolve request's body for the alert titled `title`, or null when cancelled. */
export async function askResolution(title) {
  field("resolve-title").textContent = title;
  field("resolution").value = "";
  if ((await askDialog(field("resolve-dialog"))) !== "confirm") return null;
  return { resolution: field("resolution").value };
}

/** A new incident's title and severity, proposed as given; null when cancelled. */
export async function askIncident({ title, severity }) {
  field("incident-title").value = title;
  field("incident-severity").value = severity;
  if ((await askDialog(field("incident-dialog"))) !== "confirm") return null;
  return { title: field("incident-title").value, severity: field("incident-severity").value };
}
