/* Workload page: precinct choropleth of the chosen indicator, its scale, the indicator card,
 * the table sorted by the index. Loaded in <head>; folium's inline script calls
 * GeoServiceWorkload.init(map, precincts, osm). No inline event handlers; data is put into
 * the page with textContent only. */
(function () {
  "use strict";

  var S = { map: null, precincts: null, byId: {}, key: null, breaks: [], selected: null, cfg: null };

  function cfg() {
    if (!S.cfg) { S.cfg = JSON.parse(document.getElementById("gs-config").textContent); }
    return S.cfg;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function meta(key) {
    var found = null;
    cfg().indicators.forEach(function (m) { if (m.key === key) { found = m; } });
    return found || { key: key, label: key, decimals: 2 };
  }

  // As the server writes numbers: "1 234,5" in kk and ru, "1,234.5" in en (browsers' kk data varies).
  function fmt(value, decimals) {
    if (value === null || value === undefined || !isFinite(value)) { return "\u2014"; }
    var en = cfg().lang === "en";
    var parts = Number(value).toFixed(decimals).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, en ? "," : "\u202f");
    return parts.join(en ? "." : ",");
  }

  function resize() { if (S.map) { S.map.invalidateSize({ pan: false }); } }

  // -- the scale: equal intervals between the lowest and the highest value --------------------
  function scale(key) {
    var values = [];
    S.precincts.eachLayer(function (layer) {
      var v = layer.feature.properties[key];
      if (v !== null && v !== undefined && isFinite(v)) { values.push(Number(v)); }
    });
    var n = cfg().colours.length;
    if (!values.length) { return []; }
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (hi <= lo) { return [lo]; }
    var breaks = [];
    for (var i = 0; i <= n; i += 1) { breaks.push(lo + (hi - lo) * i / n); }
    return breaks;
  }

  function colourOf(v) {
    var colours = cfg().colours;
    if (v === null || v === undefined || !isFinite(v) || !S.breaks.length) { return null; }
    if (S.breaks.length === 1) { return colours[Math.floor(colours.length / 2)]; }
    for (var i = 1; i < S.breaks.length - 1; i += 1) {
      if (v < S.breaks[i]) { return colours[i - 1]; }
    }
    return colours[colours.length - 1];
  }

  function styleOf(layer) {
    var fill = colourOf(layer.feature.properties[S.key]);
    var on = S.selected === layer.feature.properties.id;
    return { color: on ? "#1d2329" : "#555555", weight: on ? 4 : 1.5, opacity: 0.9,
      fillColor: fill || "#d0d4d8", fillOpacity: fill ? 0.75 : 0.4, dashArray: fill ? null : "4 4" };
  }

  function legend() {
    var list = document.getElementById("gs-scale-items");
    var m = meta(S.key);
    var colours = cfg().colours;
    list.textContent = "";
    function item(colour, text) {
      var li = el("li", "gs-scale-item");
      var sw = el("span", "gs-swatch");
      sw.style.backgroundColor = colour;
      sw.style.borderColor = "#555555";
      li.appendChild(sw);
      li.appendChild(el("span", null, text));
      list.appendChild(li);
    }
    if (S.breaks.length === 1) {
      item(colours[Math.floor(colours.length / 2)], fmt(S.breaks[0], m.decimals));
    } else {
      for (var i = 0; i + 1 < S.breaks.length; i += 1) {
        item(colours[i], fmt(S.breaks[i], m.decimals) + " \u2013 " + fmt(S.breaks[i + 1], m.decimals));
      }
    }
    var missing = false;
    S.precincts.eachLayer(function (layer) {
      var v = layer.feature.properties[S.key];
      if (v === null || v === undefined) { missing = true; }
    });
    if (missing) { item("#d0d4d8", cfg().t.no_data); }
  }

  function paint(key) {
    S.key = key;
    S.breaks = scale(key);
    S.precincts.eachLayer(function (layer) { layer.setStyle(styleOf(layer)); });
    legend();
    if (S.selected) { showCard(S.selected); }
  }

  // -- the card --------------------------------------------------------------------------------
  function showCard(id) {
    var layer = S.byId[id];
    if (!layer) { return; }
    var p = layer.feature.properties;
    var card = document.getElementById("gs-card");
    card.textContent = "";
    var head = el("div", "gs-card-head");
    head.appendChild(el("h2", "gs-card-title", p.name));
    var close = el("button", "gs-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", cfg().t.card_close);
    close.addEventListener("click", hideCard);
    head.appendChild(close);
    card.appendChild(head);
    var dl = el("dl", "gs-facts gs-wl-facts");
    cfg().indicators.forEach(function (m) {
      var dt = el("dt", null, m.label);
      var dd = el("dd", "gs-num-cell", fmt(p[m.key], m.decimals));
      if (m.key === S.key) { dt.className = "gs-on"; dd.className += " gs-on"; }
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    card.appendChild(dl);
    card.hidden = false;
    document.body.classList.add("gs-card-open");
    resize();
  }

  function select(id, fit) {
    var before = S.selected;
    S.selected = id;
    [before, id].forEach(function (k) { if (k && S.byId[k]) { S.byId[k].setStyle(styleOf(S.byId[k])); } });
    if (id && S.byId[id]) {
      S.byId[id].bringToFront();
      if (fit) { S.map.fitBounds(S.byId[id].getBounds(), { padding: [16, 16] }); }
    }
    Array.prototype.forEach.call(document.querySelectorAll("#gs-wl-table tbody tr"), function (tr) {
      tr.classList.toggle("gs-current", tr.getAttribute("data-precinct") === id);
    });
    if (id) { showCard(id); }
  }

  function hideCard() {
    var card = document.getElementById("gs-card");
    card.hidden = true;
    card.textContent = "";
    document.body.classList.remove("gs-card-open");
    select(null, false);
    resize();
  }

  function init(map, precincts, osm) {
    S.map = map;
    S.precincts = precincts;
    precincts.eachLayer(function (layer) {
      S.byId[layer.feature.properties.id] = layer;
      var tip = el("span", null, layer.feature.properties.name);
      layer.bindTooltip(tip, { sticky: true });
    });
    precincts.on("click", function (e) {
      L.DomEvent.stopPropagation(e);
      select(e.layer.feature.properties.id, false);
    });
    var credit = cfg().attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) { if (e.layer === osm) { map.attributionControl.removeAttribution(credit); } });
    map.on("overlayremove", function (e) { if (e.layer === osm) { map.attributionControl.addAttribution(credit); } });
    var selector = document.getElementById("gs-indicator");
    selector.addEventListener("change", function () { paint(selector.value); });
    Array.prototype.forEach.call(document.querySelectorAll(".gs-wl-go"), function (b) {
      b.addEventListener("click", function () { select(b.getAttribute("data-precinct"), true); });
    });
    document.getElementById("gs-workload").addEventListener("toggle", resize);
    window.addEventListener("resize", resize);
    paint(selector.value);
    resize();
    var sw = cfg().sw;
    if (sw && "serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(sw, { scope: "/" }).catch(function () { /* offline use only */ });
    }
  }

  window.GeoServiceWorkload = { init: init, select: select, paint: paint };
}());
