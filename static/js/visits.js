// Visit form on a phone: a draft kept in localStorage, geolocation, more problem rows,
// the revisit hints. No inline scripts; everything hangs on data- attributes.
(function () {
  "use strict";

  // A visit page reached after saving clears the draft it came from.
  const saved = document.querySelector("[data-visit-saved]");
  if (saved) {
    try { localStorage.removeItem(saved.getAttribute("data-draft-key")); } catch (e) { /* storage off */ }
  }

  const form = document.getElementById("visit-form");
  if (!form) { return; }

  // After a reload start at the top, where the draft is offered, not where the finger was.
  if ("scrollRestoration" in history) { history.scrollRestoration = "manual"; }
  const key = form.getAttribute("data-draft-key");
  const RESTORE_FLAG = "tracker.visitDraft.restoreAfterReload";
  const banner = document.getElementById("draft-banner");
  const serverErrors = document.getElementById("form-errors");

  // ------------------------------------------------------------ draft

  function revisitKey(name) {
    // revisits-3-comment → revisit:<problem id>:comment, so a draft survives a changed list.
    const m = /^revisits-(\d+)-(\w+)$/.exec(name);
    if (!m) { return name; }
    const id = form.querySelector('[name="revisits-' + m[1] + '-problem_id"]');
    return id ? "revisit:" + id.value + ":" + m[2] : name;
  }

  function nameFor(draftName) {
    const m = /^revisit:(\d+):(\w+)$/.exec(draftName);
    if (!m) { return draftName; }
    const id = Array.from(form.querySelectorAll('input[name$="-problem_id"]'))
      .find((el) => el.value === m[1]);
    return id ? id.name.replace(/problem_id$/, m[2]) : null;
  }

  function collect() {
    const values = {};
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el.type === "file" || el.name === "csrf_token" || el.type === "submit" ||
          el.type === "button" || /-problem_id$/.test(el.name)) { return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      values[revisitKey(el.name)] = el.value;
    });
    return values;
  }

  function meaningful(values) {
    return Object.keys(values).some((k) => {
      const v = values[k];
      return v && !/^(project_id|visited_on|kind)$/.test(k) && !/handling_class$/.test(k) &&
        !/:outcome$/.test(k);
    }) || Object.keys(values).some((k) => /:outcome$/.test(k) && values[k]);
  }

  function readDraft() {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function saveDraft() {
    const values = collect();
    try {
      if (meaningful(values)) {
        localStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), values: values }));
      }
    } catch (e) { /* storage full or off: nothing more we can do */ }
  }

  function ensureProblemRows(values) {
    let highest = -1;
    Object.keys(values).forEach((k) => {
      const m = /^new_problems-(\d+)-/.exec(k);
      if (m) { highest = Math.max(highest, Number(m[1])); }
    });
    while (form.querySelectorAll("[data-new-problem]").length <= highest) {
      if (!addProblemRow()) { break; }
    }
  }

  function applyDraft(draft) {
    const values = draft.values || {};
    ensureProblemRows(values);
    Object.keys(values).forEach((draftName) => {
      if (draftName === "project_id") { return; }
      const name = nameFor(draftName);
      if (!name) { return; }
      const els = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      els.forEach((el) => {
        if (el.type === "radio" || el.type === "checkbox") {
          el.checked = el.value === values[draftName];
        } else {
          el.value = values[draftName];
        }
      });
    });
    refreshHints();
  }

  function differs(draft) {
    const now = collect();
    return Object.keys(draft.values || {}).some((k) => (now[k] || "") !== (draft.values[k] || ""));
  }

  function offerDraft() {
    const draft = readDraft();
    if (!draft || !banner) { return; }
    const current = form.querySelector("[data-project-select]");
    const draftProject = (draft.values || {}).project_id;
    if (sessionStorage.getItem(RESTORE_FLAG)) {
      sessionStorage.removeItem(RESTORE_FLAG);
      applyDraft(draft);
      return;
    }
    if (serverErrors || !differs(draft)) { return; }  // the server already shows what was sent
    const when = new Date(draft.savedAt);
    banner.querySelector("[data-draft-time]").textContent =
      "（" + when.toLocaleString("zh-CN", { hour12: false }) + "）";
    banner.classList.remove("d-none");
    banner.scrollIntoView({ block: "start" });  // a reload keeps the scroll position; show it
    banner.querySelector("[data-draft-restore]").addEventListener("click", () => {
      banner.classList.add("d-none");
      if (draftProject && current && current.value !== draftProject &&
          current.querySelector('option[value="' + CSS.escape(draftProject) + '"]')) {
        sessionStorage.setItem(RESTORE_FLAG, "1");
        window.location.href = form.getAttribute("data-new-url") + "?project_id=" +
          encodeURIComponent(draftProject);
        return;
      }
      applyDraft(draft);
    });
    banner.querySelector("[data-draft-discard]").addEventListener("click", () => {
      try { localStorage.removeItem(key); } catch (e) { /* ignore */ }
      banner.classList.add("d-none");
    });
  }

  let timer = null;
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(saveDraft, 250);
  });
  form.addEventListener("change", saveDraft);
  window.addEventListener("pagehide", saveDraft);

  form.addEventListener("submit", (event) => {
    saveDraft();
    const offline = document.getElementById("offline-note");
    if (navigator.onLine === false) {
      event.preventDefault();
      if (offline) { offline.classList.remove("d-none"); offline.scrollIntoView(); }
      return;
    }
    // 销号 is irreversible for the supervisor: ask once, naming how many problems it closes.
    const closing = form.querySelectorAll("input[type=radio][value=close]:checked").length;
    const question = form.getAttribute("data-confirm-close");
    if (closing && question && !window.confirm(question.replace("{n}", closing))) {
      event.preventDefault();
      return;
    }
    const button = document.getElementById("submit-visit");
    if (button) { button.disabled = true; button.textContent = button.getAttribute("data-msg-saving"); }
  });
  window.addEventListener("pageshow", () => {
    const button = document.getElementById("submit-visit");
    if (button && button.disabled) {
      button.disabled = false;
      button.textContent = button.getAttribute("data-msg-submit");
    }
  });

  // Changing the project reloads the form with that project's problems; the draft comes along.
  const projectSelect = form.querySelector("[data-project-select]");
  if (projectSelect) {
    projectSelect.addEventListener("change", () => {
      saveDraft();
      if (meaningful(collect())) { sessionStorage.setItem(RESTORE_FLAG, "1"); }
      window.location.href = form.getAttribute("data-new-url") + "?project_id=" +
        encodeURIComponent(projectSelect.value);
    });
  }

  // ------------------------------------------------------------ new problem rows

  function addProblemRow() {
    const list = document.getElementById("new-problems");
    const template = document.getElementById("new-problem-template");
    if (!list || !template) { return false; }
    const index = Number(list.getAttribute("data-next-index") || "0");
    if (index >= 20) { return false; }
    const html = template.innerHTML.replace(/__index__/g, String(index));
    list.insertAdjacentHTML("beforeend", html);
    list.setAttribute("data-next-index", String(index + 1));
    return true;
  }
  const addButton = form.querySelector("[data-add-problem]");
  if (addButton) {
    addButton.addEventListener("click", () => {
      if (addProblemRow()) {
        const rows = form.querySelectorAll("[data-new-problem]");
        const input = rows[rows.length - 1].querySelector("input");
        if (input) { input.focus(); }
      }
    });
  }

  // ------------------------------------------------------------ revisit hints

  function refreshHints() {
    form.querySelectorAll("[data-revisit]").forEach((box) => {
      const outcome = box.querySelector('input[type="radio"]:checked');
      const rating = box.querySelector("[data-satisfaction]");
      const hint = box.querySelector("[data-fail-hint]");
      const failing = rating && /dissatisfied$/.test(rating.value);
      if (hint) { hint.classList.toggle("d-none", !(failing && outcome && outcome.value === "close")); }
    });
  }
  form.addEventListener("change", refreshHints);

  // ------------------------------------------------------------ position

  const locate = document.getElementById("locate-btn");
  const status = document.getElementById("locate-status");
  function fillPosition() {
    if (!locate) { return; }
    if (!("geolocation" in navigator)) {
      status.textContent = locate.getAttribute("data-msg-unsupported");
      return;
    }
    status.textContent = locate.getAttribute("data-msg-locating");
    navigator.geolocation.getCurrentPosition((pos) => {
      form.querySelector('[name="lat"]').value = pos.coords.latitude.toFixed(6);
      form.querySelector('[name="lon"]').value = pos.coords.longitude.toFixed(6);
      status.textContent = locate.getAttribute("data-msg-done")
        .replace("{m}", String(Math.round(pos.coords.accuracy)));
      saveDraft();
    }, (error) => {
      status.textContent = locate.getAttribute(
        error.code === 1 ? "data-msg-denied" : "data-msg-failed");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }
  if (locate) {
    locate.addEventListener("click", fillPosition);
    const lat = form.querySelector('[name="lat"]');
    // Ask by itself only when the user has already allowed it: no surprise prompt on load.
    if (lat && !lat.value && navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then((p) => {
        if (p.state === "granted") { fillPosition(); }
      }).catch(() => {});
    }
  }

  // ------------------------------------------------------------ chosen files

  const summary = document.getElementById("file-summary");
  function showFiles() {
    if (!summary) { return; }
    const names = [];
    form.querySelectorAll('input[type="file"]').forEach((input) => {
      Array.from(input.files || []).forEach((f) => names.push(f.name));
    });
    summary.textContent = names.length
      ? summary.getAttribute("data-msg-chosen").replace("{n}", String(names.length)) + names.join("、")
      : "";
  }
  form.querySelectorAll('input[type="file"]').forEach((input) => {
    input.addEventListener("change", showFiles);
  });

  refreshHints();
  offerDraft();
}());
