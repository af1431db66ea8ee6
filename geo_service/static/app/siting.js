/* Siting page: existing and proposed posts, their service areas, uncovered demand, marginal gains.
 * Loaded in <head>; folium's inline script calls GeoServiceSiting.init(map, sites, areas, osm).
 * On the waiting page (#gs-siting-wait, while a job draws the areas) it polls the job's URL with
 * the page's own credentials and reloads into the map once the job is done; a job that failed or
 * was cancelled is said so; a refused poll (another sign-in) falls back to reloading the page.
 * A site's tooltip is its name ("Site 2", a post's name) and, on a second line, its place (the
 * feature's label is "name\nplace"); the scale is metric, in the page's words (cfg().t.unit_m/km;
 * mapkit.js).
 * No inline event handlers; data is put into the page with textContent only. */
(function () {
  "use strict";

  var S = { map: null, cfg: null };

  function cfg() {
    if (!S.cfg) { S.cfg = JSON.parse(document.getElementById("gs-config").textContent); }
    return S.cfg;
  }

  function resize() {
    if (S.map) { S.map.invalidateSize({ pan: false }); }
  }

  function tooltip(label) {
    var lines = String(label).split("\n"), span = document.createElement("span");
    var name = document.createElement("b");
    name.textContent = lines[0];
    span.appendChild(name);
    if (lines.length > 1) {
      span.appendChild(document.createElement("br"));
      span.appendChild(document.createTextNode(lines.slice(1).join(" ")));
    }
    return span;
  }

  function init(map, sites, areas, osm) {
    S.map = map;
    GeoServiceMapKit.addScale(map, cfg().t);
    sites.eachLayer(function (layer) {
      layer.bindTooltip(tooltip(layer.feature.properties.label));
    });
    var credit = cfg().attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) { if (e.layer === osm) { map.attributionControl.removeAttribution(credit); } });
    map.on("overlayremove", function (e) { if (e.layer === osm) { map.attributionControl.addAttribution(credit); } });
    Array.prototype.forEach.call(document.querySelectorAll(".gs-site-go"), function (b) {
      b.addEventListener("click", function () {
        map.setView([parseFloat(b.getAttribute("data-lat")), parseFloat(b.getAttribute("data-lon"))],
          Math.max(map.getZoom(), 15));
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".gs-swatch[data-colour]"), function (s) {
      s.style.backgroundColor = s.getAttribute("data-colour");
      s.style.borderColor = s.getAttribute("data-colour");
    });
    document.getElementById("gs-siting").addEventListener("toggle", resize);
    window.addEventListener("resize", resize);
    resize();
    var sw = cfg().sw;
    if (sw && "serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(sw, { scope: "/" }).catch(function () { /* offline use only */ });
    }
  }

  function wait(box) {
    var url = box.getAttribute("data-job"), delay = 700, line = document.getElementById("gs-wait-progress");
    function again() { setTimeout(poll, delay); delay = Math.min(delay * 1.4, 5000); }
    function show(doc) {
      var p = doc.progress;
      if (doc.status === "running" && p && p.total) {
        line.textContent = box.getAttribute("data-progress").replace("{done}", String(p.done))
          .replace("{total}", String(p.total));
      } else {
        line.textContent = box.getAttribute(doc.status === "queued" ? "data-queued" : "data-running");
      }
    }
    function ended(doc) {
      if (doc.status === "done") { window.location.reload(); return; }
      line.hidden = true;
      document.getElementById(doc.status === "cancelled" ? "gs-wait-cancelled" : "gs-wait-failed").hidden = false;
    }
    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 202) { return r.json().then(function (doc) { show(doc); again(); }); }
          if (r.status === 200) { return r.json().then(ended); }
          setTimeout(function () { window.location.reload(); }, 5000);  // refused or gone: the page decides
          return null;
        })
        .catch(again);
    }
    poll();
  }

  function start() {
    var box = document.getElementById("gs-siting-wait");
    if (box) { wait(box); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  window.GeoServiceSiting = { init: init };
}());
