// Dashboard: picking an "as of" day shows the figures at once (the button stays for keyboards).
(function () {
  "use strict";
  var input = document.getElementById("as_of");
  if (input && input.form) {
    input.addEventListener("change", function () {
      // Typing a year fires "change" per digit: wait for a whole, plausible date.
      if (/^(19|20)\d\d-\d\d-\d\d$/.test(input.value) && input.checkValidity()) { input.form.submit(); }
    });
  }
})();
