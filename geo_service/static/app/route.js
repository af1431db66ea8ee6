/* Route page: numbered stops, the path, the post; the list of stops under the map.
 * Loaded in <head>; folium's inline script calls GeoServiceRoute.init(map, stops, route, post, osm).
 * Texts come from the page's JSON config (#gs-config). The post's pin is above every stop, and a
 * stop that would lie under it is drawn beside it. The scale is metric, in the page's words
 * (cfg().t.unit_m/km; mapkit.js), above the attribution. No inline event handlers; data is put
 * into the page with textContent only. */
(function () {
  "use strict";

  var S = { map: null, byNumber: {}, cfg: null, current: null };
  // Leaflet stacks markers by their screen y plus this offset: stops get 1000 - n (the first stop on
  // top of later ones), the post more than any stop plus a marker's height, so the post's pin stays
  // visible and tappable when a stop is at or next to it (and such a stop is drawn beside it: declutter).
  var POST_Z = 2000;
  // The post's pin (30 x 40, tip at its place) and a stop's circle (36 px, centred on its place).
  var PIN_W = 30, PIN_H = 40, STOP_R = 18, GAP = 3;

  // A stop whose circle would lie under the post's pin at this zoom is drawn beside the pin (its
  // icon shifted sideways; its place, tooltip and list entry unchanged), so both stay readable.
  function declutter(post) {
    var pins = [];
    if (post && S.map.hasLayer(post)) {
      post.eachLayer(function (l) { pins.push(S.map.latLngToLayerPoint(l.getLatLng())); });
    }
    Object.keys(S.byNumber).forEach(function (k) {
      var m = S.byNumber[k], e = m.getElement && m.getElement();
      if (!e) { return; }
      var at = S.map.latLngToLayerPoint(m.getLatLng()), dx = 0, clear = PIN_W / 2 + STOP_R + GAP;
      pins.forEach(function (p) {
        var under = Math.abs(at.x - p.x) < clear && at.y + STOP_R > p.y - PIN_H - GAP && at.y - STOP_R < p.y + GAP;
        if (under) { dx = (at.x >= p.x ? clear : -clear) - (at.x - p.x); }
      });
      e.style.marginLeft = (dx - STOP_R) + "px";
      e.classList.toggle("gs-beside-post", dx !== 0);
    });
  }

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

  function resize() {
    if (S.map) { S.map.invalidateSize({ pan: false }); }
  }

  function mark(n) {
    if (S.current) { S.current.classList.remove("gs-current"); }
    var item = n ? document.getElementById("gs-stop-" + n) : null;
    S.current = item;
    Object.keys(S.byNumber).forEach(function (k) {
      var icon = S.byNumber[k].getElement && S.byNumber[k].getElement();
      if (icon) { icon.classList.toggle("gs-current", String(k) === String(n)); }
    });
    if (item) { item.classList.add("gs-current"); }
    return item;
  }

  function showStop(lat, lon, n) {
    S.map.setView([lat, lon], Math.max(S.map.getZoom(), 17));
    mark(n);
    var marker = n ? S.byNumber[n] : null;
    if (marker) { marker.openTooltip(); }
  }

  function registerServiceWorker() {
    var sw = cfg().sw;
    if (!sw || !("serviceWorker" in navigator) || !window.isSecureContext) { return; }
    navigator.serviceWorker.register(sw, { scope: "/" }).catch(function () { /* offline use only */ });
  }

  // Marks pressed offline that the server later refused (the service worker keeps them):
  // listed above the stops, with a button that forgets them.
  var QUEUE = "gsq-marks";
  var MARK = /\/stops\/(\d+)\/(done|undo)$/;

  function showRefused() {
    if (!("caches" in window)) { return; }
    caches.open(QUEUE).then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) {
          return cache.match(k).then(function (r) { return r.json(); }).then(function (m) { return { key: k, m: m }; });
        }));
      }).then(function (all) {
        var refused = all.filter(function (x) { return x.m.refused; });
        if (!refused.length) { return; }
        var t = cfg().t;
        var box = el("div", "gs-refused");
        box.setAttribute("role", "alert");
        box.appendChild(el("p", "gs-refused-title", t.marks_refused));
        var list = el("ul");
        refused.forEach(function (x) {
          var m = MARK.exec(new URL(x.m.url).pathname) || ["", "?", "done"];
          var when = new Date(x.m.at).toLocaleString(cfg().lang, { dateStyle: "short", timeStyle: "short" });
          list.appendChild(el("li", null, t.stop + " " + m[1] + " · " + (m[2] === "undo" ? t.undo_made : t.mark_made) +
            " · " + when));
        });
        box.appendChild(list);
        var forget = el("button", "gs-refused-forget", t.marks_forget);
        forget.type = "button";
        forget.addEventListener("click", function () {
          Promise.all(refused.map(function (x) { return cache.delete(x.key); })).then(function () { box.remove(); });
        });
        box.appendChild(forget);
        var stops = document.getElementById("gs-stops");
        stops.parentNode.insertBefore(box, stops);
      });
    }).catch(function () { /* no cache: nothing to show */ });
  }

  // Marks kept offline and not yet sent, for this link's page: the stop shows "waiting to send"
  // (also on the cached page after a reload) instead of its button.
  function pendingMarks() {
    if (!("caches" in window)) { return Promise.resolve([]); }
    var prefix = location.pathname.replace(/\/$/, "") + "/stops/";
    return caches.open(QUEUE).then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) {
          return cache.match(k).then(function (r) { return r.json(); });
        }));
      });
    }).then(function (all) {
      return all.filter(function (m) {
        var path = new URL(m.url).pathname;
        return !m.refused && path.indexOf(prefix) === 0 && MARK.test(path);
      }).map(function (m) { return MARK.exec(new URL(m.url).pathname)[1]; });
    }).catch(function () { return []; });
  }

  function showPending() {
    return pendingMarks().then(function (numbers) {
      numbers.forEach(function (n) {
        var item = document.getElementById("gs-stop-" + n);
        if (!item || item.querySelector(".gs-pending")) { return; }
        item.classList.add("gs-stop-pending");
        Array.prototype.forEach.call(item.querySelectorAll(".gs-made-form, .gs-undo-form, .gs-made"), function (f) {
          f.hidden = true;
        });
        var note = el("p", "gs-pending", "⏳ " + cfg().t.marks_pending);
        note.setAttribute("role", "status");
        var times = item.querySelector(".gs-times");
        item.insertBefore(note, times ? times.nextSibling : null);
      });
      return numbers;
    });
  }

  // Back online: the service worker sends the kept marks now; the page then shows the server's state.
  function sendPending() {
    var sw = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!sw || !navigator.onLine) { return; }
    pendingMarks().then(function (numbers) {
      if (!numbers.length) { return; }
      var channel = new MessageChannel();
      channel.port1.onmessage = function () {
        pendingMarks().then(function (left) { if (left.length < numbers.length) { location.reload(); } });
      };
      sw.postMessage({ type: "gs-flush-marks" }, [channel.port2]);
    });
  }

  function init(map, stops, route, post, osm) {
    S.map = map;
    GeoServiceMapKit.addScale(map, cfg().t);
    stops.eachLayer(function (layer) {
      var p = layer.feature.properties;
      S.byNumber[p.n] = layer;
      layer.setZIndexOffset(1000 - p.n);  // the first stop on top of later ones, all under the post
      var tip = p.n + ". " + p.label + (p.made ? " · " + cfg().t.stop_made_map : "");
      layer.bindTooltip(el("span", null, tip), { direction: "top", offset: [0, -18] });
      if (p.made) {  // a made stop: grey with a check, as in the list
        var made = function () { var e = layer.getElement && layer.getElement(); if (e) { e.classList.add("gs-made-icon"); } };
        made();
        layer.on("add", made);
      }
      layer.on("click", function () {
        var details = document.getElementById("gs-stops");
        details.open = true;
        var item = mark(p.n);
        if (item) { item.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
      });
    });
    if (post) {
      declutter(post);
      map.on("zoomend viewreset", function () { declutter(post); });
      map.on("overlayadd overlayremove", function () { declutter(post); });
      post.eachLayer(function (layer) {
        var name = layer.feature.properties.name;
        layer.setZIndexOffset(POST_Z);
        layer.bindTooltip(el("span", null, cfg().t.post + (name ? ": " + name : "")));
      });
    }
    // Roads are OpenStreetMap data too: keep the credit visible with or without tiles.
    var credit = cfg().attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) { if (e.layer === osm) { map.attributionControl.removeAttribution(credit); } });
    map.on("overlayremove", function (e) { if (e.layer === osm) { map.attributionControl.addAttribution(credit); } });
    Array.prototype.forEach.call(document.querySelectorAll(".gs-stop-go"), function (b) {
      b.addEventListener("click", function () {
        showStop(parseFloat(b.getAttribute("data-lat")), parseFloat(b.getAttribute("data-lon")),
          b.getAttribute("data-stop"));
      });
    });
    document.getElementById("gs-stops").addEventListener("toggle", resize);
    window.addEventListener("resize", resize);
    resize();
    registerServiceWorker();
    showRefused();
    showPending().then(sendPending);
    window.addEventListener("online", sendPending);
  }

  window.GeoServiceRoute = { init: init, show: showStop };
}());
