/* Siting page: existing and proposed posts, their service areas, uncovered demand, marginal gains.
 * Loaded in <head>; folium's inline script calls GeoServiceSiting.init(map, sites, areas, osm).
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

  function init(map, sites, areas, osm) {
    S.map = map;
    sites.eachLayer(function (layer) {
      var span = document.createElement("span");
      span.textContent = layer.feature.properties.label;
      layer.bindTooltip(span);
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

  window.GeoServiceSiting = { init: init };
}());
