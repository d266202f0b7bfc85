// Project import: upload with a progress bar, then a busy indicator while the server checks
// every row. Without JavaScript the form posts as usual.
(function () {
  const form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const box = document.getElementById("import-progress");
  const bar = box.querySelector(".progress-bar");
  const meter = box.querySelector(".progress");
  const text = box.querySelector("p");
  const button = document.getElementById("import-submit");

  function show(percent, message) {
    bar.style.width = percent + "%";
    meter.setAttribute("aria-valuenow", String(percent));
    text.textContent = message;
  }

  form.addEventListener("submit", (event) => {
    const file = form.querySelector("input[type=file]");
    if (!file || !file.files.length) return; // let the server explain what is missing
    event.preventDefault();
    box.classList.remove("d-none");
    button.disabled = true;
    show(0, text.dataset.uploading);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) show(Math.round((e.loaded / e.total) * 100), text.dataset.uploading);
    });
    xhr.upload.addEventListener("load", () => show(100, text.dataset.checking));
    xhr.addEventListener("load", () => {
      if (xhr.status === 200 && (xhr.getResponseHeader("Content-Type") || "").includes("json")) {
        window.location.assign(JSON.parse(xhr.responseText).location); // imported: the list says so
        return;
      }
      // The page again, with the errors: swap in its result and form.
      const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const result = doc.getElementById("import-result");
      if (!result) { document.open(); document.write(xhr.responseText); document.close(); return; }
      document.getElementById("import-result").replaceWith(result);
      const newForm = doc.getElementById("import-form");
      form.querySelectorAll(".invalid-feedback").forEach((el) => el.remove());
      if (newForm) newForm.querySelectorAll(".invalid-feedback").forEach((el) => {
        file.parentElement.appendChild(el);
      });
      box.classList.add("d-none");
      button.disabled = false;
      result.scrollIntoView({ behavior: "smooth", block: "start" });
    });
    xhr.addEventListener("error", () => {
      box.classList.add("d-none");
      button.disabled = false;
      form.submit();
    });
    xhr.send(new FormData(form));
  });
})();
