/* Balance proposal page (planners): tooltips of the proposed precincts, the moved blocks and the
 * posts; a precinct chosen in the table is outlined and shown on the map.
 * Loaded in <head>; folium's inline script calls
 * GeoServiceBalance.init(map, proposed, current, moved, posts, osm).
 * No inline event handlers; data is put into the page with textContent only. */
(function () {
  "use strict";

  var S = { map: null, proposed: null, byId: {}, selected: null, cfg: null };

  function cfg() {
    if (!S.cfg) { S.cfg = JSON.parse(document.getElementById("gs-config").textContent); }
    return S.cfg;
  }

  function tr(key, values) {
    var text = (cfg().t && cfg().t[key]) || key;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : all;
    });
  }

  // As the server writes numbers: "1 234,5" in kk and ru, "1,234.5" in en.
  function fmt(value, decimals) {
    if (value === null || value === undefined || !isFinite(value)) { return "\u2014"; }
    var en = cfg().lang === "en";
    var parts = Number(value).toFixed(decimals).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, en ? "," : "\u202f");
    return parts.join(en ? "." : ",");
  }

  function tip(layer, text) {
    var span = document.createElement("span");
    span.textContent = text;
    layer.bindTooltip(span, { sticky: true });
  }

  function styleOf(layer) {
    var p = layer.feature.properties;
    var on = S.selected === p.id;
    return { color: on ? "#1d2329" : p.colour, weight: on ? 4 : 1, fillColor: p.colour, fillOpacity: on ? 0.6 : 0.45 };
  }

  function resize() { if (S.map) { S.map.invalidateSize({ pan: false }); } }

  function select(id, fit) {
    var before = S.selected;
    S.selected = id;
    [before, id].forEach(function (k) { if (k && S.byId[k]) { S.byId[k].setStyle(styleOf(S.byId[k])); } });
    if (id && S.byId[id] && fit) { S.map.fitBounds(S.byId[id].getBounds(), { padding: [16, 16] }); }
    Array.prototype.forEach.call(document.querySelectorAll("#gs-bal-table tbody tr"), function (row) {
      row.classList.toggle("gs-current", row.getAttribute("data-precinct") === id);
    });
  }

  function init(map, proposed, current, moved, posts, osm) {
    S.map = map;
    S.proposed = proposed;
    proposed.eachLayer(function (layer) {
      var p = layer.feature.properties;
      S.byId[p.id] = layer;
      tip(layer, tr("balance_tip_precinct", { name: p.name, value: fmt(p.before, 2) + " \u2192 " + fmt(p.after, 2) }));
    });
    proposed.on("click", function (e) { select(e.layer.feature.properties.id, false); });
    current.eachLayer(function (layer) { tip(layer, layer.feature.properties.name); });
    if (moved) {
      moved.eachLayer(function (layer) {
        var p = layer.feature.properties;
        tip(layer, tr("balance_tip_moved", { before: p.before, after: p.after, residents: fmt(p.residents, 0) }));
      });
      moved.bringToFront();
    }
    if (posts) { posts.eachLayer(function (layer) { tip(layer, layer.feature.properties.name); }); }
    var credit = cfg().attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) { if (e.layer === osm) { map.attributionControl.removeAttribution(credit); } });
    map.on("overlayremove", function (e) { if (e.layer === osm) { map.attributionControl.addAttribution(credit); } });
    Array.prototype.forEach.call(document.querySelectorAll("#gs-bal-table .gs-wl-go"), function (b) {
      b.addEventListener("click", function () {
        select(b.getAttribute("data-precinct"), true);
        // On a phone the page scrolls down past the map to the table (balance.css): back up to the map.
        if (window.matchMedia("(max-width: 640px)").matches) { map.getContainer().scrollIntoView({ block: "start" }); }
      });
    });
    var details = document.getElementById("gs-workload");
    if (details) { details.addEventListener("toggle", resize); }
    window.addEventListener("resize", resize);
    resize();
    var sw = cfg().sw;
    if (sw && "serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(sw, { scope: "/" }).catch(function () { /* offline use only */ });
    }
  }

  window.GeoServiceBalance = { init: init, select: select };
}());
