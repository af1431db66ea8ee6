/* What the map pages share (loaded in <head> before the page's own script; the route and siting
 * pages call it from their init).
 * GeoServiceMapKit.addScale(map, t): a metric scale bar whose units are the page's words
 * (t.unit_m, t.unit_km: "300 м", "2 км"); Leaflet's own writes "m", "km" and an imperial
 * "ft"/"mi" line. It sits bottom right, stacked above the attribution: bottom left it hides under
 * the attribution's second line on a phone. Text is set by Leaflet with innerHTML from a number
 * and the page's own unit words (the page's catalogue, never data). */
(function () {
  "use strict";

  function addScale(map, t) {
    var Scale = L.Control.Scale.extend({
      _updateMetric: function (maxMeters) {
        var meters = this._getRoundNum(maxMeters);
        var label = meters < 1000 ? meters + " " + t.unit_m : (meters / 1000) + " " + t.unit_km;
        this._updateScale(this._mScale, label, meters / maxMeters);
      }
    });
    return new Scale({ imperial: false, position: "bottomright" }).addTo(map);
  }

  window.GeoServiceMapKit = { addScale: addScale };
}());
