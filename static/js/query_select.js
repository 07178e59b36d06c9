// The query list's "select all on this page" box and the count of ticked queries. Without JavaScript each
// row's box still works; this only saves the clicks.
(function () {
  const all = document.getElementById("select-all");
  if (!all) {
    return;
  }
  const boxes = Array.from(document.querySelectorAll("input.query-select"));
  const count = document.getElementById("selected-count");
  function sync() {
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
    if (count) {
      count.textContent = String(ticked);
    }
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) {
      box.checked = all.checked;
    });
    sync();
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", sync);
  });
  sync();
})();
