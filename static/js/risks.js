// Risk forms: the reason becomes required as soon as the level or status differs from the
// current one, so the browser asks for it before the server has to refuse. Works for the risk
// page, the project page's quick re-rating and the visit form's re-rating block.
(function () {
  if (window.trackerRisks) return;  // included by more than one partial on a page
  window.trackerRisks = true;
  const SELECTOR = ".risk-form[data-current-level]";
  function sync(box) {
    const level = box.querySelector("select[name$=level]");
    const status = box.querySelector("select[name$=status]");
    const reason = box.querySelector("[data-reason]");
    if (!level || !status || !reason) return;
    const changed = level.value !== box.dataset.currentLevel ||
      status.value !== box.dataset.currentStatus;
    reason.required = changed;
    reason.classList.toggle("border-warning", changed && !reason.value.trim());
  }
  function onEvent(event) {
    const box = event.target.closest(SELECTOR);
    if (box) sync(box);
  }
  document.addEventListener("change", onEvent);
  document.addEventListener("input", onEvent);
  document.querySelectorAll(SELECTOR).forEach(sync);
})();
