// Applied before first paint so a dark-theme user never sees a white flash.
(function () {
  const stored = localStorage.getItem("opsconsole-theme");
  const prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = stored || (prefersDark ? "dark" : "light");
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.language select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    const toggle = document.getElementById("theme-toggle");
    if (!toggle) return;
    toggle.addEventListener("click", function () {
      const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      localStorage.setItem("opsconsole-theme", next);
      document.dispatchEvent(new CustomEvent("opsconsole:theme", { detail: next }));
    });
  });
})();
