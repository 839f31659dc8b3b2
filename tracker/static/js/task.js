// Task page helpers (no inline scripts: the CSP forbids them).
// - forms with data-confirm ask before submitting;
// - file inputs with data-max-bytes warn before a too-large upload is sent;
// - a "refuse/return" choice makes the note field required.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files") || "0", 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total") || "0", 10);
    var box = input.parentElement.querySelector("[data-file-error]");
    input.addEventListener("change", function () {
      var message = "";
      if (maxFiles && input.files.length > maxFiles) {
        message = "一次最多上传 " + maxFiles + " 个附件";
      }
      var total = 0;
      Array.prototype.forEach.call(input.files, function (file) {
        total += file.size;
        if (!message && file.size > max) {
          message = "“" + file.name + "”超过 " + Math.round(max / 1048576) + " MB，请压缩或拆分后再上传";
        }
      });
      if (!message && maxTotal && total > maxTotal) {
        message = "附件合计超过 " + Math.round(maxTotal / 1048576) + " MB，请分次上传";
      }
      input.setCustomValidity(message);
      input.classList.toggle("is-invalid", !!message);
      if (box) {
        box.textContent = message;
        box.classList.toggle("d-none", !message);
      }
    });
  });

  document.querySelectorAll("[data-decision]").forEach(function (group) {
    var form = group.closest("form");
    var note = form && form.querySelector("textarea[name=note]");
    if (!note) {
      return;
    }
    var sync = function () {
      var refusing = group.querySelector("input[data-needs-note]:checked");
      note.required = !!refusing;
    };
    group.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });
})();
