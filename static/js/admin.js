// Administration pages: the department field only matters for department (责任单位) users.
document.querySelectorAll("form[data-role-form]").forEach((form) => {
  const role = form.querySelector("[data-role-select]");
  const field = form.querySelector(".department-field");
  if (!role || !field) return;
  const sync = () => {
    const isDepartment = role.value === "department";
    field.classList.toggle("d-none", !isDepartment);
    const select = field.querySelector("select");
    if (select && !isDepartment) select.value = "None";
  };
  role.addEventListener("change", sync);
  sync();
});
