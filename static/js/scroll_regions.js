// A table wider than the screen scrolls inside its own box (static/css/app.css); a box that scrolls must
// take the keyboard's focus, or it cannot be scrolled without a mouse (WCAG 2.1.1; axe-core's
// scrollable-region-focusable). Each box that overflows gets tabindex=0 while it does, on load and resize.
(function () {
  "use strict";
  var MARK = "scrollRegion";

  function mark() {
    document.querySelectorAll("main .table-responsive, main table").forEach(function (box) {
      var scrolls = /auto|scroll/.test(window.getComputedStyle(box).overflowX) &&
        (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight);
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset[MARK] = "";
      } else if (!scrolls && MARK in box.dataset) {
        box.removeAttribute("tabindex");
        delete box.dataset[MARK];
      }
    });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(mark, 100);
  });
  mark();
})();
