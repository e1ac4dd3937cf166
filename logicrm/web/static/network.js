// The network page and the what-if graph: cytoscape.js drawing elements the server prepared
// (colour by risk band, shape by role, width by volume). Clicking an account recentres the network
// page on it (the URL follows, so Back works); the side panel links to the account's page.
(function () {
  "use strict";

  var BAND_COLOURS = { high: "#b3261e", medium: "#b26a00", low: "#2e7d32", hidden: "#9aa3ad" };

  // Up to LABELLED accounts all carry their names; beyond, only the centre, the high-risk ones and the
  // selected one do (the list under the graph names them all).
  var LABELLED = 40;

  function style(crowded) {
    return [
      {
        selector: "node",
        style: {
          label: crowded ? "" : "data(label)", shape: "data(shape)", "font-size": 10, "text-wrap": "wrap",
          "text-max-width": 120, "text-valign": "bottom", "text-margin-y": 4, width: 22, height: 22,
          "background-color": function (node) { return BAND_COLOURS[node.data("band")] || BAND_COLOURS.hidden; },
          "border-width": 1, "border-color": "#1d2430",
        },
      },
      { selector: 'node[?center], node[band = "high"], node:selected', style: { label: "data(label)" } },
      { selector: "node[?center]", style: { width: 36, height: 36, "border-width": 4, "border-color": "#12325a", "font-weight": "bold" } },
      { selector: "edge", style: { width: "data(width)", "line-color": "#8a94a3", "curve-style": "bezier", "target-arrow-shape": "triangle", "target-arrow-color": "#8a94a3", opacity: 0.8 } },
      { selector: ":selected", style: { "border-width": 4, "border-color": "#ffbf47" } },
    ];
  }

  function caption(element, data) {
    if (!element) { return; }
    var template = data.shown < data.total ? element.dataset.templateCapped : element.dataset.templateAll;
    element.textContent = template.replace("{shown}", data.shown.toLocaleString()).replace("{total}", data.total.toLocaleString());
  }

  function listing(list, elements) {
    if (!list) { return; }
    list.textContent = "";
    elements.filter(function (e) { return !e.data.source; }).forEach(function (e) {
      var item = document.createElement("li");
      if (e.data.href) {
        var link = document.createElement("a");
        link.href = e.data.recentre || e.data.href;
        link.textContent = e.data.label;
        item.appendChild(link);
      } else {
        item.textContent = e.data.label;
      }
      list.appendChild(item);
    });
  }

  function select(node) {
    var selected = document.getElementById("graph-selected");
    var open = document.getElementById("graph-open");
    if (!selected) { return; }
    selected.textContent = node.data("label");
    if (open && node.data("href")) {
      open.href = node.data("href");
      open.hidden = false;
    }
  }

  function draw(container, data, recentre) {
    var crowded = data.elements.filter(function (e) { return !e.data.source; }).length > LABELLED;
    var cy = cytoscape({
      container: container, elements: data.elements, style: style(crowded),
      // the centre in the middle and the accounts on a ring around it, their labels spread round, not in a row
      layout: data.elements.length > 120
        ? { name: "cose", animate: false, fit: true, padding: 20 }
        : { name: "concentric", animate: false, fit: true, padding: 30, minNodeSpacing: 30,
            concentric: function (node) {
              var round = node.data("round");  // what-if: removed in the middle, then each round's losses
              return typeof round === "number" ? 100 - round : (node.data("center") ? 2 : 1);
            },
            levelWidth: function () { return 1; } },
    });
    cy.on("tap", "node", function (event) {
      var node = event.target;
      select(node);
      if (recentre && node.data("recentre") && !node.data("center")) {
        window.location.assign(node.data("recentre"));
      }
    });
    return cy;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("graph");
    if (!container || typeof cytoscape === "undefined") { return; }
    var inline = document.getElementById("graph-data");
    if (inline) {
      var data = JSON.parse(inline.textContent);
      draw(container, data, false);
      caption(document.getElementById("graph-caption"), data);
      listing(document.getElementById("graph-list"), data.elements);
      return;
    }
    fetch(container.dataset.graphUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("graph: " + response.status); }
        return response.json();
      })
      .then(function (data) {
        draw(container, data, true);
        caption(document.getElementById("graph-caption"), data);
        listing(document.getElementById("graph-list"), data.elements);
      });
  });
})();
