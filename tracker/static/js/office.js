// The office pages' small behaviours (CSP forbids inline scripts, so they live here).
(function () {
  "use strict";

  // A confirmation before a destructive or far-reaching submit: on forms and on submit buttons.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // "Select all" for the task list's check boxes.
  document.querySelectorAll("[data-check-all]").forEach(function (box) {
    var name = box.getAttribute("data-check-all");
    box.addEventListener("change", function () {
      var form = box.closest("form") || document;
      form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    });
  });

  // One more empty milestone row on the draft form.
  document.querySelectorAll("[data-add-milestone]").forEach(function (button) {
    button.addEventListener("click", function () {
      var list = document.getElementById("milestones");
      var rows = list.querySelectorAll("[data-milestone-row]");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      list.appendChild(copy);
      copy.querySelector("input").focus();
    });
  });

  // Print the 督办通知单.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // The source form shows the fields of the chosen kind (meeting, instruction, other).
  var kind = document.querySelector("[data-source-kind]");
  if (kind) {
    var sync = function () {
      var option = kind.options[kind.selectedIndex];
      var group = option ? option.getAttribute("data-group") : "other";
      document.querySelectorAll("[data-show-for]").forEach(function (el) {
        var groups = el.getAttribute("data-show-for").split(" ");
        el.classList.toggle("d-none", groups.indexOf(group) === -1);
      });
    };
    kind.addEventListener("change", sync);
    sync();
  }
})();
