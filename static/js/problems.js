// The problem pages and the supervision list, without inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  // After a refused action, bring its reason and the form into view.
  const error = document.getElementById("action-error");
  if (error) {
    error.scrollIntoView({ block: "center" });
  }
  // Supervision list: the new problem's fields matter only for a `problem` result.
  document.querySelectorAll("form.checklist-mark").forEach((form) => {
    const extra = form.querySelector(".problem-fields");
    if (!extra) return;
    const sync = () => {
      const chosen = form.querySelector("input[name=result]:checked");
      extra.hidden = !(chosen && chosen.value === "problem");
    };
    form.addEventListener("change", sync);
    sync();
  });
});
