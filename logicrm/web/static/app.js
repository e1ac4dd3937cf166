// LogiCRM web workspace: CSRF on htmx requests, charts from JSON data blocks, small conveniences.
// No inline scripts (the Content-Security-Policy forbids them): pages pass data in
// <script type="application/json"> blocks and data-* attributes.
(function () {
  "use strict";

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = document.body.dataset.csrf;
  });

  // A select marked data-submit-on-change submits its form (its button stays for keyboards and no-JS).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-submit-on-change]")) {
      target.form.requestSubmit();
    }
  });

  var charts = {};

  function drawCharts(root) {
    if (typeof Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var block = document.getElementById(canvas.id + "-data");
      if (!block) {
        return;
      }
      var spec = JSON.parse(block.textContent);
      if (charts[canvas.id]) {
        charts[canvas.id].destroy();
      }
      charts[canvas.id] = new Chart(canvas, {
        type: spec.type || canvas.dataset.chart,
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { display: spec.datasets.length > 1 } },
          scales: spec.scales || {},
        },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(event.detail.elt);
  });
  window.LogiCRM = { drawCharts: drawCharts };
})();
