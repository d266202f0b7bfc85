// Risk forms: the reason becomes required as soon as the level or status differs from the
// current one, so the browser asks for it before the server has to refuse.
(function () {
  function sync(form) {
    const level = form.querySelector("select[name=level]");
    const status = form.querySelector("select[name=status]");
    const reason = form.querySelector("[data-reason]");
    if (!level || !status || !reason) return;
    const changed = level.value !== form.dataset.currentLevel ||
      status.value !== form.dataset.currentStatus;
    reason.required = changed;
    reason.classList.toggle("border-warning", changed && !reason.value.trim());
  }
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form.risk-form[data-current-level]");
    if (form) sync(form);
  });
  document.addEventListener("input", (event) => {
    const form = event.target.closest("form.risk-form[data-current-level]");
    if (form) sync(form);
  });
  document.querySelectorAll("form.risk-form[data-current-level]").forEach(sync);
})();
