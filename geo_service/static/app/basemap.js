/* The pages' base map: the bundle's vector tiles (roads, precinct borders, labels) drawn on a
 * canvas by protomaps-leaflet (vendored), under the page's own layers.
 * folium's inline script calls GeoServiceBase.add(map, options) with
 * { url: ".../tiles/<version>/{z}/{x}/{y}.mvt", maxDataZoom, bounds: [[s, w], [n, e]], keep: [urls] }.
 * `keep` lists the tiles of a route's area: the service worker is asked to store them
 * for offline use (sw.js, "gs-keep-tiles"). Labels are canvas text: no HTML from the data. */
(function () {
  "use strict";

  var ROAD = {
    major: { color: "#f6c95e", casing: "#c9a242", width: [[10, 1.2], [13, 3], [16, 8], [19, 18]] },
    street: { color: "#ffffff", casing: "#b9bcc1", width: [[11, 0.6], [13, 1.6], [16, 5], [19, 14]] },
    path: { color: "#9aa0a6", casing: null, width: [[13, 0.5], [16, 1.2], [19, 2.5]] }
  };

  function interpolate(stops) {
    return function (z) {
      if (z <= stops[0][0]) { return stops[0][1]; }
      for (var i = 1; i < stops.length; i += 1) {
        if (z <= stops[i][0]) {
          var a = stops[i - 1], b = stops[i];
          return a[1] + (b[1] - a[1]) * (z - a[0]) / (b[0] - a[0]);
        }
      }
      return stops[stops.length - 1][1];
    };
  }

  function kindIs(kind) {
    return function (z, f) { return f.props.kind === kind; };
  }

  function paintRules(P) {
    var rules = [];
    ["path", "street", "major"].forEach(function (kind) {
      var s = ROAD[kind], width = interpolate(s.width);
      if (s.casing) {
        rules.push({ dataLayer: "roads", filter: kindIs(kind), symbolizer: new P.LineSymbolizer({
          color: s.casing, width: function (z) { return width(z) + 1.5; }, lineCap: "round", lineJoin: "round" }) });
      }
      rules.push({ dataLayer: "roads", filter: kindIs(kind), symbolizer: new P.LineSymbolizer(
        kind === "path" ? { color: s.color, width: width, dash: [3, 2], dashColor: s.color, dashWidth: width }
          : { color: s.color, width: width, lineCap: "round", lineJoin: "round" }) });
    });
    rules.push({ dataLayer: "precincts", symbolizer: new P.LineSymbolizer({
      color: "#6b5b95", width: interpolate([[10, 0.8], [15, 1.6]]), opacity: 0.8, dash: [5, 3],
      dashColor: "#6b5b95", dashWidth: 1.2 }) });
    return rules;
  }

  function labelRules(P) {
    return [
      { dataLayer: "labels", minzoom: 13, maxzoom: 15, symbolizer: new P.CenteredTextSymbolizer({
        labelProps: ["name"], fill: "#3d3266", stroke: "#ffffff", width: 3,
        font: "600 11px system-ui, sans-serif" }) },
      { dataLayer: "roads", minzoom: 15, filter: function (z, f) { return !!f.props.name; },
        symbolizer: new P.LineLabelSymbolizer({ labelProps: ["name"], fill: "#3c4043", stroke: "#ffffff",
          width: 3, font: "12px system-ui, sans-serif" }) }
    ];
  }

  function keepTiles(urls) {
    if (!urls || !urls.length || !("serviceWorker" in navigator) || !window.isSecureContext) { return; }
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) { reg.active.postMessage({ type: "gs-keep-tiles", urls: urls }); }
    }).catch(function () { /* offline use only */ });
  }

  function add(map, options) {
    var P = window.protomapsL;
    if (!P || !options || !options.url) { return null; }
    var layer = P.leafletLayer({
      url: options.url, maxDataZoom: options.maxDataZoom, attribution: "",
      backgroundColor: "#f3f1ec", paintRules: paintRules(P), labelRules: labelRules(P),
      bounds: options.bounds || undefined, maxZoom: 20
    });
    layer.addTo(map);
    keepTiles(options.keep);
    return layer;
  }

  window.GeoServiceBase = { add: add };
}());
