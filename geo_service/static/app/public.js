/* Public precinct page: the small map's credit and the post's name, the print button, and
 * "use my location" (the browser's position is posted to the public lookup API in the request
 * body, never put in a URL, and not kept; the answer says whether it is in this precinct or
 * links the precinct it is in).
 * Loaded in <head>; folium's inline script calls GeoServicePublic.init(map, boundary, post, osm).
 * No inline event handlers; data is put into the page with textContent only. */
(function () {
  "use strict";

  var S = { cfg: null, map: null, bounds: null, you: null, busy: false };

  function tr(key, values) {
    var text = (S.cfg.t && S.cfg.t[key]) || key;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // A text with its {name} kept on one line where it fits (a precinct name such as "P-01" unbroken).
  function named(key, values) {
    var p = el("p", "gs-pub-locate-text");
    var parts = tr(key, Object.assign({}, values, { name: "\u0000" })).split("\u0000");
    parts.forEach(function (part, i) {
      if (i > 0) {
        var short = String(values.name).length <= 24;  // a long name may still wrap at 320 px
        p.appendChild(el("span", short ? "gs-pub-locate-name gs-nowrap" : "gs-pub-locate-name", values.name));
      }
      p.appendChild(document.createTextNode(part));
    });
    return p;
  }

  function show(kind, text, extra) {
    var box = document.getElementById("gs-locate-result");
    if (!box) { return; }
    box.textContent = "";
    box.className = "gs-pub-locate-result gs-" + kind;
    box.setAttribute("data-state", kind);
    box.appendChild(typeof text === "string" ? el("p", "gs-pub-locate-text", text) : text);
    (extra || []).forEach(function (node) { box.appendChild(node); });
  }

  function mapLink() {
    var a = el("a", "gs-nav gs-pub-map-link", tr("pub_search_map"));
    a.href = S.cfg.root + "precincts/map?lang=" + encodeURIComponent(S.cfg.lang);
    return a;
  }

  function pageLink(id) {
    var a = el("a", "gs-button gs-pub-other", tr("pub_locate_other_link"));
    a.href = S.cfg.root + "p/" + encodeURIComponent(id) + "?lang=" + encodeURIComponent(S.cfg.lang);
    return a;
  }

  function drawYou(lat, lon, accuracy) {
    if (!S.map || typeof L === "undefined") { return; }
    if (S.you) { S.map.removeLayer(S.you); }
    var tip = el("span", null, tr("pub_locate_you"));
    S.you = L.layerGroup([
      L.circle([lat, lon], { radius: Math.max(accuracy || 0, 10), color: "#b00020", weight: 1, fillOpacity: 0.08,
        interactive: false }),
      L.circleMarker([lat, lon], { radius: 7, color: "#ffffff", weight: 2, fillColor: "#b00020", fillOpacity: 1 })
        .bindTooltip(tip)
    ]).addTo(S.map);
    var view = S.bounds ? L.latLngBounds(S.bounds.getSouthWest(), S.bounds.getNorthEast()) : S.map.getBounds();
    S.map.fitBounds(view.extend([lat, lon]), { maxZoom: 16 });
  }

  function answer(resp, body, accuracy) {
    var extra = [];
    if (accuracy && accuracy > 150) {
      extra.push(el("p", "gs-note", tr("pub_locate_accuracy", { m: Math.round(accuracy) })));
    }
    if (resp.ok && body.precinct && body.precinct.id !== undefined) {
      var name = body.precinct.name || body.precinct.id;
      if (String(body.precinct.id) === S.cfg.precinct) {
        show("here", named("pub_locate_here", { name: name }), extra);
      } else {
        show("other", named("pub_locate_other", { name: name }), [pageLink(String(body.precinct.id))].concat(extra));
      }
      return;
    }
    if (resp.status === 404 && body.nearest_precinct) {
      var near = body.nearest_precinct;
      show("outside", named("pub_locate_outside", { name: near.name || near.id, distance: Math.round(body.distance_m || 0) }),
        [pageLink(String(near.id)), mapLink()].concat(extra));
      return;
    }
    show("error", tr("pub_locate_failed"), [mapLink()]);
  }

  function lookup(position) {
    var lat = position.coords.latitude;
    var lon = position.coords.longitude;
    var accuracy = position.coords.accuracy;
    drawYou(lat, lon, accuracy);
    show("busy", tr("pub_locate_checking"));
    return fetch(S.cfg.api + "/lookup", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ lat: lat, lon: lon }),
      credentials: "same-origin"
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { answer(resp, body || {}, accuracy); });
    }).catch(function () { show("error", tr("pub_locate_failed"), [mapLink()]); });
  }

  function locate() {
    if (S.busy) { return; }
    if (!("geolocation" in navigator) || !window.isSecureContext) {
      show("error", tr("pub_locate_unsupported"), [mapLink()]);
      return;
    }
    S.busy = true;
    var button = document.getElementById("gs-locate");
    if (button) { button.disabled = true; }
    var done = function () { S.busy = false; if (button) { button.disabled = false; } };
    show("busy", tr("pub_locating"));
    navigator.geolocation.getCurrentPosition(function (position) {
      lookup(position).then(done, done);
    }, function (error) {
      done();
      show("error", tr(error && error.code === 1 ? "pub_locate_denied" : "pub_locate_unavailable"), [mapLink()]);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function init(map, boundary, post, osm) {
    var cfg = JSON.parse(document.getElementById("gs-config").textContent);
    S.cfg = cfg;
    S.map = map;
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
    S.bounds = bounds;
    window.addEventListener("beforeprint", function () { map.invalidateSize({ pan: false }); map.fitBounds(bounds); });
    window.addEventListener("afterprint", function () { map.invalidateSize({ pan: false }); map.fitBounds(bounds); });
    var button = document.getElementById("gs-print");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
    var locateButton = document.getElementById("gs-locate");
    if (locateButton) { locateButton.addEventListener("click", locate); }
  }

  window.GeoServicePublic = { init: init };
}());
