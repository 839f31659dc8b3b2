// The motions list: "交办选中的N件" counts the ticked boxes (CSP forbids inline scripts).
(function () {
  "use strict";
  var form = document.getElementById("motion-assign");
  if (!form) {
    return;
  }
  var boxes = document.querySelectorAll('input[name="motion_ids"][form="motion-assign"]');
  var button = document.getElementById("assign-selected");
  var count = form.querySelector("[data-assign-count]");

  function refresh() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) { n += 1; } });
    count.textContent = String(n);
    button.disabled = n === 0;
  }

  boxes.forEach(function (b) { b.addEventListener("change", refresh); });
  document.querySelectorAll("[data-assign-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      refresh();
    });
  });
  refresh();
})();
