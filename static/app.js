// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";
  // Tabs on the sign-in page.
  document.querySelectorAll("[data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function (e) {
      e.preventDefault();
      document.querySelectorAll("[data-tab]").forEach(function (t) {
        t.classList.toggle("active", t === tab);
        var panel = document.getElementById(t.dataset.tab);
        if (panel) panel.classList.toggle("hidden", t !== tab);
      });
    });
  });
  // Click the captcha for a new one.
  var refresh = document.getElementById("captcha-refresh");
  if (refresh) {
    refresh.addEventListener("click", function () {
      fetch("/client_code", { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (!body.data) return;
          var img = document.getElementById("captcha-img");
          img.src = body.data.image;
          if (body.data.answer) img.dataset.testAnswer = body.data.answer;
          document.getElementById("captcha_id").value = body.data.captcha_id;
        });
    });
  }
  // Send a verification code.
  document.querySelectorAll("[data-purpose]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.numberInput);
      var status = document.getElementById("send-code-status");
      var form = new URLSearchParams();
      form.set("number", input ? input.value : "");
      form.set("purpose", button.dataset.purpose);
      fetch("/verify_code", { method: "POST", body: form, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (status) status.textContent = body.message;
          if (body.code === 200) {
            button.disabled = true;
            setTimeout(function () { button.disabled = false; }, 60000);
          }
        });
    });
  });
  // Keep the language switch on the current page.
  document.querySelectorAll("[data-lang-switch]").forEach(function (sw) {
    var url = new URL(sw.href, location.href);
    url.searchParams.set("back", location.pathname + location.search);
    sw.href = url.pathname + url.search;
  });
})();
