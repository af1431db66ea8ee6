/* Public precinct page: the small map's credit and the post's name, and the print button.
 * Loaded in <head>; folium's inline script calls GeoServicePublic.init(map, boundary, post, osm).
 * No inline event handlers; data is put into the page with textContent only. */
(function () {
  "use strict";

  function init(map, boundary, post, osm) {
    var cfg = JSON.parse(document.getElementById("gs-config").textContent);
    if (post) {
      post.eachLayer(function (layer) {
        var span = document.createElement("span");
        span.textContent = layer.feature.properties.name;
        layer.bindTooltip(span);
      });
    }
    var credit = cfg.attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) { if (e.layer === osm) { map.attributionControl.removeAttribution(credit); } });
    map.on("overlayremove", function (e) { if (e.layer === osm) { map.attributionControl.addAttribution(credit); } });
    var bounds = boundary.getBounds();
    window.addEventListener("beforeprint", function () { map.invalidateSize({ pan: false }); map.fitBounds(bounds); });
    window.addEventListener("afterprint", function () { map.invalidateSize({ pan: false }); map.fitBounds(bounds); });
    var button = document.getElementById("gs-print");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
  }

  window.GeoServicePublic = { init: init };
}());
