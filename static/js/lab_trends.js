// Small trend line per analyte on the patient page; the table beside it holds the same numbers,
// so the page stays complete with JavaScript off.
(function () {
  const data = JSON.parse(document.getElementById("lab-chart-data").textContent);
  const colours = { normal: "#0d6efd", low: "#fd7e14", high: "#dc3545" };
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const points = data[canvas.dataset.chart] || [];
    new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map((p) => p.x),
        datasets: [{
          data: points.map((p) => p.y),
          pointBackgroundColor: points.map((p) => colours[p.flag] || colours.normal),
          borderColor: "#6c757d",
          borderWidth: 1,
          pointRadius: 3,
        }],
      },
      options: {
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { display: true, ticks: { font: { size: 9 } } }, y: { display: false } },
      },
    });
    canvas.dataset.drawn = "true";
  });
})();
