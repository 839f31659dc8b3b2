// The web importer: the progress bar polls the job, changed column choices are marked,
// and a confirm button cannot be pressed twice (the server refuses a second import too).
(function () {
  "use strict";

  var card = document.querySelector("[data-progress-url]");
  if (card) {
    var url = card.getAttribute("data-progress-url");
    var bar = document.getElementById("progress-bar");
    var inner = bar.querySelector(".progress-bar");
    var count = document.getElementById("progress-count");
    var poll = function () {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (resp) { return resp.json(); })
        .then(function (job) {
          bar.setAttribute("aria-valuenow", String(job.percent));
          inner.style.width = job.percent + "%";
          inner.textContent = job.percent + "%";
          if (job.total) { count.textContent = job.done + " / " + job.total + " 行"; }
          if (job.running) {
            window.setTimeout(poll, 500);
          } else {
            bar.setAttribute("data-finished", "1");
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 300);
  }

  document.querySelectorAll("select[data-guess]").forEach(function (select) {
    var mark = function () {
      select.classList.toggle("border-warning", select.value !== select.getAttribute("data-guess"));
    };
    select.addEventListener("change", mark);
    mark();
  });

  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
})();
