/* The pages' base map: the bundle's vector tiles (roads, precinct borders, labels) drawn on a
 * canvas by protomaps-leaflet (vendored), under the page's own layers.
 * folium's inline script calls GeoServiceBase.add(map, options) with
 * { url: ".../tiles/<version>/{z}/{x}/{y}.mvt", maxDataZoom, bounds: [[s, w], [n, e]], keep: [urls],
 *   fill: bool }.
 * With `fill` (the precinct map) every precinct of the tiles' `precincts` layer is filled with a
 * colour derived from its id (`colourOf`: the same id has the same colour on every tile and page),
 * a derived precinct's border is dashed, an official one's solid, and names are drawn at 11-16.
 * `keep` lists the tiles of a route's area: the service worker is asked to store them
 * for offline use (sw.js, "gs-keep-tiles"). Labels are canvas text: no HTML from the data. */
(function () {
  "use strict";

  var ROAD = {
    major: { color: "#f6c95e", casing: "#c9a242", width: [[10, 1.2], [13, 3], [16, 8], [19, 18]] },
    street: { color: "#ffffff", casing: "#b9bcc1", width: [[11, 0.6], [13, 1.6], [16, 5], [19, 14]] },
    path: { color: "#9aa0a6", casing: null, width: [[13, 0.5], [16, 1.2], [19, 2.5]] }
  };

  // Twelve colours told apart on a map (geo_service.pages.layers.PALETTE).
  var PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#79706e", "#17becf", "#bcbd22"];

  // A precinct's colour from its id: FNV-1a of the id's UTF-16 code units, modulo the palette.
  function colourOf(id) {
    var h = 0x811c9dc5, s = String(id);
    for (var i = 0; i < s.length; i += 1) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return PALETTE[h % PALETTE.length];
  }

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

  function isDerived(z, f) { return f.props.source !== "official"; }

  function paintRules(P, fill) {
    var rules = [];
    if (fill) {
      rules.push({ dataLayer: "precincts", symbolizer: new P.PolygonSymbolizer({
        fill: function (z, f) { return colourOf(f.props.id); }, opacity: 0.22, perFeature: true }) });
    }
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
    if (fill) {
      var colour = function (z, f) { return colourOf(f.props.id); };
      var border = interpolate([[10, 1], [14, 2], [17, 3]]);
      rules.push({ dataLayer: "precincts", filter: function (z, f) { return !isDerived(z, f); },
        symbolizer: new P.LineSymbolizer({ color: colour, width: border, opacity: 0.9, perFeature: true }) });
      rules.push({ dataLayer: "precincts", filter: isDerived, symbolizer: new P.LineSymbolizer({
        color: colour, width: border, opacity: 0.9, dash: [6, 4], dashColor: colour, dashWidth: border,
        perFeature: true }) });
      return rules;
    }
    rules.push({ dataLayer: "precincts", symbolizer: new P.LineSymbolizer({
      color: "#6b5b95", width: interpolate([[10, 0.8], [15, 1.6]]), opacity: 0.8, dash: [5, 3],
      dashColor: "#6b5b95", dashWidth: 1.2 }) });
    return rules;
  }

  function labelRules(P, fill) {
    return [
      { dataLayer: "labels", minzoom: fill ? 11 : 13, maxzoom: fill ? 16 : 15, symbolizer: new P.CenteredTextSymbolizer({
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
      backgroundColor: "#f3f1ec", paintRules: paintRules(P, !!options.fill), labelRules: labelRules(P, !!options.fill),
      bounds: options.bounds || undefined, maxZoom: 20
    });
    layer.addTo(map);
    keepTiles(options.keep);
    return layer;
  }

  window.GeoServiceBase = { add: add, colourOf: colourOf };
}());
