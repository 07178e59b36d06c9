// Trial dashboard: charts drawn from the snapshot's chart data (the tables beside them hold the same
// figures, so the page is complete with JavaScript off), and "Recompute now" with a progress bar.
(function () {
  "use strict";

  const ARM_COLOURS = {
    CTRL: { fill: "rgba(108, 117, 125, 0.35)", line: "#495057" },
    EXP: { fill: "rgba(13, 110, 253, 0.35)", line: "#0a58ca" },
    POOLED: { fill: "rgba(32, 201, 151, 0.35)", line: "#198754" },
  };
  const SPARE_COLOURS = [
    { fill: "rgba(253, 126, 20, 0.35)", line: "#ca6510" },
    { fill: "rgba(111, 66, 193, 0.35)", line: "#59359a" },
  ];

  // Words shown by the charts and the progress bar, translated by the page (#dashboard-text, built by
  // analysis.views); English when the page gives none. "{status}" stands for an HTTP status code.
  const TEXT = Object.assign(
    {
      randomizedCumulative: "Randomized (cumulative)",
      target: "Target",
      riskRatioCi: "Risk ratio (95% CI)",
      riskRatioAxis: "Risk ratio, EXP / CTRL (log scale) — < 1 favours fewer events with EXP",
      to: "to",
      allArms: "All arms",
      noValues: "no values",
      median: "median",
      range: "range",
      queued: "Queued",
      running: "Running",
      done: "Done",
      failed: "Failed",
      recomputationFailed: "Recomputation failed.",
      statusUnreadable: "Could not read the job's status (HTTP {status}).",
      requesting: "Requesting a recomputation…",
      requestRefused: "The recomputation could not be requested (HTTP {status}).",
    },
    JSON.parse((document.getElementById("dashboard-text") || {}).textContent || "{}"),
  );

  function armColour(code, index) {
    return ARM_COLOURS[code] || SPARE_COLOURS[index % SPARE_COLOURS.length];
  }

  // Marks each canvas once Chart.js has actually rendered it (tests and users can rely on it).
  const drawnFlag = {
    id: "drawnFlag",
    afterRender(chart) {
      chart.canvas.dataset.drawn = "true";
    },
  };

  // --- Enrollment: cumulative randomizations by month -------------------------------------------------
  function drawEnrollment() {
    const canvas = document.getElementById("enrollment-chart");
    const source = document.getElementById("enrollment-series-data");
    if (!canvas || !source) return;
    // One row per month with the cumulative total over all sites.
    const byMonth = new Map();
    JSON.parse(source.textContent).forEach(function (row) {
      byMonth.set(row.month, row.cumulative);
    });
    const months = Array.from(byMonth.keys()).sort();
    const target = Number((document.getElementById("enrollment-target") || {}).textContent || NaN);
    const datasets = [
      {
        label: TEXT.randomizedCumulative,
        data: months.map((m) => byMonth.get(m)),
        borderColor: "#0d6efd",
        backgroundColor: "#0d6efd",
        pointRadius: 3,
        tension: 0.1,
      },
    ];
    if (Number.isFinite(target)) {
      datasets.push({
        label: TEXT.target,
        data: months.map(() => target),
        borderColor: "#adb5bd",
        borderDash: [6, 4],
        borderWidth: 1,
        pointRadius: 0,
      });
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: months, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { labels: { boxWidth: 12, font: { size: 11 } } } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
      plugins: [drawnFlag],
    });
  }

  // --- Forest plot of risk ratios: points on a log axis with horizontal 95% CI lines -------------------
  const errorBars = {
    id: "errorBars",
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales.x;
      ctx.save();
      // Line of no effect.
      const one = x.getPixelForValue(1);
      ctx.strokeStyle = "#adb5bd";
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(one, chartArea.top);
      ctx.lineTo(one, chartArea.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = "#212529";
      ctx.lineWidth = 1.5;
      chart.data.datasets.forEach(function (dataset, i) {
        chart.getDatasetMeta(i).data.forEach(function (point, j) {
          const item = dataset.data[j];
          if (item.lo == null || item.hi == null) return;
          const left = Math.max(chartArea.left, x.getPixelForValue(item.lo));
          const right = Math.min(chartArea.right, x.getPixelForValue(item.hi));
          ctx.beginPath();
          ctx.moveTo(left, point.y);
          ctx.lineTo(right, point.y);
          ctx.moveTo(left, point.y - 4);
          ctx.lineTo(left, point.y + 4);
          ctx.moveTo(right, point.y - 4);
          ctx.lineTo(right, point.y + 4);
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };

  function fixed(value) {
    return value == null ? "—" : Number(value).toFixed(2);
  }

  // Label only 1, 2 and 5 times a power of ten on the log axis.
  function logTick(value) {
    const mantissa = value / Math.pow(10, Math.floor(Math.log10(value) + 1e-9));
    return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) ? String(Number(value.toPrecision(2))) : "";
  }

  function drawForest(chartsData) {
    const canvas = document.getElementById("forest-plot");
    const rows = chartsData.forest || [];
    if (!canvas || !rows.length) return;
    const points = rows.map((r) => ({ x: r.estimate, y: r.label, lo: r.ci95[0], hi: r.ci95[1] }));
    const values = points.flatMap((p) => [p.x, p.lo, p.hi]).filter((v) => v != null && v > 0);
    const low = Math.min(1, ...values);
    const high = Math.max(1, ...values);
    new Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          {
            label: TEXT.riskRatioCi,
            data: points,
            pointStyle: "rect",
            pointRadius: 5,
            pointHoverRadius: 6,
            backgroundColor: "#0a58ca",
            borderColor: "#0a58ca",
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (c) => `RR ${fixed(c.raw.x)} (${fixed(c.raw.lo)} ${TEXT.to} ${fixed(c.raw.hi)})`,
            },
          },
        },
        scales: {
          x: {
            type: "logarithmic",
            min: low / 1.25,
            max: high * 1.25,
            ticks: { maxRotation: 0, autoSkip: false, callback: logTick },
            title: { display: true, text: TEXT.riskRatioAxis },
          },
          y: { type: "category", labels: points.map((p) => p.y), offset: true, grid: { display: false } },
        },
      },
      plugins: [errorBars, drawnFlag],
    });
  }

  // --- Box plots: floating bars [Q1, Q3], median line and min–max whiskers -----------------------------
  const whiskers = {
    id: "whiskers",
    afterDatasetsDraw(chart) {
      const { ctx, scales } = chart;
      const y = scales.y;
      ctx.save();
      chart.data.datasets.forEach(function (dataset, i) {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach(function (bar, j) {
          const s = dataset.summaries[j];
          if (!s) return;
          const half = bar.width / 2;
          const top = y.getPixelForValue(s.q3);
          const bottom = y.getPixelForValue(s.q1);
          ctx.strokeStyle = dataset.borderColor;
          ctx.lineWidth = 1;
          ctx.beginPath();
          // Whiskers from the box to the extremes, with caps.
          ctx.moveTo(bar.x, top);
          ctx.lineTo(bar.x, y.getPixelForValue(s.max));
          ctx.moveTo(bar.x - half / 2, y.getPixelForValue(s.max));
          ctx.lineTo(bar.x + half / 2, y.getPixelForValue(s.max));
          ctx.moveTo(bar.x, bottom);
          ctx.lineTo(bar.x, y.getPixelForValue(s.min));
          ctx.moveTo(bar.x - half / 2, y.getPixelForValue(s.min));
          ctx.lineTo(bar.x + half / 2, y.getPixelForValue(s.min));
          ctx.stroke();
          // Median.
          ctx.lineWidth = 2.5;
          ctx.beginPath();
          ctx.moveTo(bar.x - half, y.getPixelForValue(s.median));
          ctx.lineTo(bar.x + half, y.getPixelForValue(s.median));
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };

  function drawBoxPlots(chartsData) {
    const boxes = chartsData.boxes || {};
    const arms = Object.keys(Object.values(boxes)[0] || {});
    const armOrder = (chartsData.arms || []).filter((a) => arms.includes(a));
    const codes = armOrder.length ? armOrder : arms; // "POOLED" when results are blinded
    document.querySelectorAll("canvas[data-box-plot]").forEach(function (canvas) {
      const analyte = canvas.dataset.boxPlot;
      const keys = Object.keys(boxes).filter((k) => k.split(".")[1] === analyte);
      const timepoints = keys.map((k) => k.split(".").slice(2).join("."));
      const described = (k, code) => {
        const d = (boxes[k] || {})[code];
        return d && d.n && d.q1 != null ? d : null;
      };
      const datasets = codes.map(function (code, index) {
        const colour = armColour(code, index);
        const summaries = keys.map((k) => described(k, code));
        return {
          label: code === "POOLED" ? TEXT.allArms : code,
          data: summaries.map((s) => (s ? [s.q1, s.q3] : null)),
          summaries: summaries,
          backgroundColor: colour.fill,
          borderColor: colour.line,
          borderWidth: 1,
          borderSkipped: false,
          minBarLength: 2,
          barPercentage: 0.6,
        };
      });
      const extremes = datasets.flatMap((d) => d.summaries.filter(Boolean).flatMap((s) => [s.min, s.max]));
      const yScale = {};
      if (extremes.length) {
        const span = Math.max(...extremes) - Math.min(...extremes) || Math.abs(extremes[0]) || 1;
        const lowest = Math.min(...extremes);
        yScale.suggestedMin = lowest >= 0 ? Math.max(0, lowest - span * 0.05) : lowest - span * 0.05;
        yScale.suggestedMax = Math.max(...extremes) + span * 0.05;
      }
      new Chart(canvas, {
        type: "bar",
        data: { labels: timepoints, datasets: datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: {
            legend: { labels: { boxWidth: 12, font: { size: 11 } } },
            tooltip: {
              callbacks: {
                label: function (c) {
                  const s = c.dataset.summaries[c.dataIndex];
                  if (!s) return `${c.dataset.label}: ${TEXT.noValues}`;
                  const median = `${TEXT.median} ${s.median}`;
                  return `${c.dataset.label}: ${median} (Q1–Q3 ${s.q1}–${s.q3}; ${TEXT.range} ${s.min}–${s.max}; n ${s.n})`;
                },
              },
            },
          },
          scales: { y: yScale },
        },
        plugins: [whiskers, drawnFlag],
      });
    });
  }

  function drawCharts() {
    const source = document.getElementById("dashboard-charts");
    if (!source || typeof Chart === "undefined") return;
    const chartsData = JSON.parse(source.textContent);
    drawEnrollment();
    drawForest(chartsData);
    drawBoxPlots(chartsData);
  }

  // --- Recompute now: POST, then poll the job every second until it is done or failed ----------------
  const form = document.getElementById("recompute-form");
  const progress = document.getElementById("job-progress");
  const statusText = document.getElementById("job-status");

  function showProgress(percent, text, failed) {
    if (!progress) return;
    progress.hidden = false;
    const bar = progress.querySelector(".progress-bar");
    const outer = progress.querySelector(".progress");
    bar.style.width = `${percent}%`;
    bar.textContent = `${percent}%`;
    bar.classList.toggle("bg-danger", Boolean(failed));
    outer.setAttribute("aria-valuenow", String(percent));
    statusText.textContent = text;
    statusText.classList.toggle("text-danger", Boolean(failed));
  }

  function pageWithoutJob() {
    const url = new URL(window.location.href);
    url.searchParams.delete("job");
    url.hash = "";
    return url.toString();
  }

  function reloadPage() {
    const clean = pageWithoutJob();
    if (clean === window.location.href) window.location.reload();
    else window.location.replace(clean);
  }

  function describe(job) {
    const labels = { queued: TEXT.queued, running: TEXT.running, done: TEXT.done, failed: TEXT.failed };
    const label = labels[job.status] || job.status;
    return job.message ? `${label}: ${job.message}` : `${label}…`;
  }

  function fail(message) {
    showProgress(100, message, true);
    const button = document.getElementById("recompute-button");
    if (button) button.disabled = false;
  }

  function track(job, onDone) {
    showProgress(job.progress || 0, describe(job), job.status === "failed");
    if (job.status === "done") {
      onDone(job);
      return;
    }
    if (job.status === "failed") {
      fail(`${TEXT.recomputationFailed} ${job.message || ""}`.trim());
      return;
    }
    window.setTimeout(function () {
      fetch(job.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(TEXT.statusUnreadable.replace("{status}", response.status));
          return response.json();
        })
        .then((next) => track(next, onDone))
        .catch((error) => fail(error.message));
    }, 1000);
  }

  if (form && window.fetch) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = document.getElementById("recompute-button");
      if (button) button.disabled = true;
      showProgress(0, TEXT.requesting);
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error(TEXT.requestRefused.replace("{status}", response.status));
          return response.json();
        })
        .then((job) => track(job, reloadPage))
        .catch((error) => fail(error.message));
    });

    // Arrived here after the no-JavaScript form's redirect (?job=N): follow that job too.
    const jobId = new URLSearchParams(window.location.search).get("job");
    if (jobId && /^\d+$/.test(jobId) && form.dataset.jobUrl) {
      const banner = document.getElementById("snapshot-banner");
      const shown = banner ? banner.dataset.snapshot : undefined;
      const notice = document.getElementById("job-requested");
      if (notice) notice.hidden = true;
      track({ status: "queued", progress: 0, url: form.dataset.jobUrl.replace(/0\/$/, `${jobId}/`) }, function (job) {
        if (String(job.snapshot) !== String(shown)) reloadPage();
        else window.history.replaceState(null, "", pageWithoutJob());
      });
    }
  }

  drawCharts();
})();
