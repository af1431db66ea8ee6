/* Precinct page: search box, "use my location", inspector card, legend, service worker.
 * Loaded in <head>; folium's inline script calls GeoServicePage.init(map, precincts, posts, osm, cluster).
 * Two ways the precincts come: drawn from the bundle's vector tiles (basemap.js; `precincts` is
 * null): a click asks the lookup API by point (POST, so no place is in a URL) and the chosen
 * precinct's outline comes from /precincts/<id>; or put into the page as GeoJSON (a bundle
 * without tiles): a click reads the feature.
 * Texts come from the page's JSON config (#gs-config). No inline event handlers; data is
 * put into the page with textContent only. */
(function () {
  "use strict";

  var S = { map: null, precincts: null, byId: {}, selected: null, found: null, cfg: null, outline: null,
    asked: 0 };

  function cfg() {
    if (!S.cfg) {
      S.cfg = JSON.parse(document.getElementById("gs-config").textContent);
    }
    return S.cfg;
  }

  function tr(key, values) {
    var text = cfg().t[key] || key;
    if (values) {
      Object.keys(values).forEach(function (k) {
        text = text.split("{" + k + "}").join(String(values[k]));
      });
    }
    return text;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function telHref(phone) {
    return "tel:" + String(phone).replace(/[^0-9+]/g, "");
  }

  function resize() {
    if (S.map) { S.map.invalidateSize({ pan: false }); }
  }

  // -- inspector card -------------------------------------------------------------------
  function row(dl, label, value, href) {
    if (!value) { return; }
    dl.appendChild(el("dt", null, label));
    var dd = el("dd");
    if (href) {
      var a = el("a", "gs-tel", value);
      a.href = href;
      dd.appendChild(a);
    } else {
      dd.textContent = value;
    }
    dl.appendChild(dd);
  }

  function showCard(props, extra) {
    var card = document.getElementById("gs-card");
    card.textContent = "";
    var head = el("div", "gs-card-head");
    var title = el("h2", "gs-card-title", (extra && extra.unsure ? tr("precinct_maybe") + ": " : "") + props.name);
    head.appendChild(title);
    var close = el("button", "gs-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", tr("card_close"));
    close.addEventListener("click", hideCard);
    head.appendChild(close);
    card.appendChild(head);
    var official = props.source === "official" || props.official === true;
    card.appendChild(el("span", "gs-badge" + (official ? "" : " gs-badge-derived"),
      official ? tr("official") : tr("derived")));
    if (extra && extra.address) {
      card.appendChild(el("p", "gs-found", tr("your_address") + ": " + extra.address));
    }
    if (extra && extra.here) {
      card.appendChild(el("p", "gs-found", tr("your_location")));
    }
    if (extra && extra.sureness) {
      extra.sureness.forEach(function (w) {
        var p = el("p", "gs-warn", w);
        p.setAttribute("role", "status");
        card.appendChild(p);
      });
    }
    if (extra && extra.on_border) {
      card.appendChild(el("p", "gs-note", tr("on_border")));
    }
    var inspectors = props.inspectors || [];
    if (!inspectors.length) {
      card.appendChild(el("p", "gs-note", tr("no_inspector")));
    }
    inspectors.forEach(function (ins) {
      card.appendChild(el("h3", "gs-card-sub", tr("inspector")));
      var dl = el("dl", "gs-facts");
      dl.appendChild(el("dt", "gs-sr", tr("inspector")));
      dl.appendChild(el("dd", "gs-name", ins.name));
      row(dl, tr("rank"), ins.rank);
      row(dl, tr("phone"), ins.phone, ins.phone ? telHref(ins.phone) : null);
      row(dl, tr("reception_hours"), ins.reception_hours);
      card.appendChild(dl);
    });
    card.appendChild(el("h3", "gs-card-sub", tr("post")));
    if (props.post) {
      var pdl = el("dl", "gs-facts");
      pdl.appendChild(el("dt", "gs-sr", tr("post")));
      pdl.appendChild(el("dd", "gs-name", props.post.name));
      row(pdl, tr("search_label"), props.post.address);
      card.appendChild(pdl);
    } else {
      card.appendChild(el("p", "gs-note", tr("no_post")));
    }
    if (cfg().public && props.id) {
      var pub = el("a", "gs-button gs-secondary gs-public-link", tr("public_page"));
      pub.href = cfg().public + encodeURIComponent(props.id) + "?lang=" + encodeURIComponent(cfg().lang);
      card.appendChild(pub);
    }
    var travel = extra && extra.travel_to_post;
    if (travel) {
      var tl = el("p", "gs-travel");
      var parts = [];
      if (travel.walk) { parts.push(tr("travel_walk", { minutes: Math.round(travel.walk.minutes) })); }
      if (travel.drive) { parts.push(tr("travel_drive", { minutes: Math.round(travel.drive.minutes) })); }
      tl.textContent = parts.join(" · ");
      if (parts.length) { card.appendChild(tl); }
    }
    card.hidden = false;
    document.body.classList.add("gs-card-open");
    resize();
  }

  function hideCard() {
    var card = document.getElementById("gs-card");
    card.hidden = true;
    card.textContent = "";
    document.body.classList.remove("gs-card-open");
    highlight(null);
    resize();
  }

  function highlight(id) {
    if (S.outline) { S.map.removeLayer(S.outline); S.outline = null; }
    if (S.selected && S.byId[S.selected]) {
      S.precincts.resetStyle(S.byId[S.selected]);
    }
    S.selected = id;
    var layer = id ? S.byId[id] : null;
    if (layer) {
      layer.setStyle({ weight: 5, fillOpacity: 0.4 });
      layer.bringToFront();
    }
  }

  // Tiles: the chosen precinct's outline (and, for a post's or legend's click, its card) from the API.
  function remotePrecinct(id, extra, withCard, fit) {
    highlight(null);
    S.selected = id;
    var asked = ++S.asked;
    fetch(cfg().api + "/precincts/" + encodeURIComponent(id), { headers: { Accept: "application/geo+json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; }).then(function (f) {
        if (!f || asked !== S.asked) { return; }
        if (withCard) { showCard(f.properties, extra); }
        S.outline = L.geoJSON(f, { interactive: false, style: { color: "#1f3f77", weight: 4, fill: false } });
        S.outline.addTo(S.map);
        if (fit) { S.map.fitBounds(S.outline.getBounds(), { padding: [16, 16] }); }
      }).catch(function () { if (withCard) { status(tr("err_offline"), true); } });
  }

  function selectPrecinct(id, extra, fit) {
    if (!S.precincts) { remotePrecinct(id, extra, true, fit); return; }
    var layer = S.byId[id];
    if (!layer) { return; }
    highlight(id);
    showCard(layer.feature.properties, extra);
    if (fit) { S.map.fitBounds(layer.getBounds(), { padding: [16, 16] }); }
  }

  // -- search -------------------------------------------------------------------------------
  function status(text, isError) {
    var box = document.getElementById("gs-status");
    box.textContent = text || "";
    box.classList.toggle("gs-error", !!isError);
  }

  function clearCandidates() {
    var list = document.getElementById("gs-candidates");
    list.textContent = "";
    list.hidden = true;
  }

  function candidateLabel(c) {
    var text = [c.street, c.housenumber].filter(Boolean).join(" ") || "";
    if (c.match === "street" && !c.housenumber) { text += (text ? ", " : "") + tr("match_street_middle"); }
    var where = c.precinct ? c.precinct.name : tr("no_precinct");
    return text + " \u2014 " + where;
  }

  // How sure the answer is, from its fields (never the English note): the lines the card shows,
  // and whether the precinct is a guess.
  function sureness(c) {
    var lines = [];
    var where = c.match === "place" ? null : tr("match_street_middle");
    if (c.house_found === false) {
      lines.push(tr("match_house_not_found", { house: c.house_asked || "", where: c.match === "house" ?
        [c.street, c.housenumber].filter(Boolean).join(" ") : where }));
    } else if (c.match === "street") {
      lines.push(tr("match_street_only"));
    } else if (c.match === "place") {
      lines.push(tr("match_place"));
    }
    var crossed = c.street_precincts || [];
    if (c.precinct_determined === false) {
      lines.push(tr("precinct_undetermined", { count: crossed.length,
        names: crossed.map(function (p) { return p.name || p.id; }).join(", ") }));
    }
    return { lines: lines, unsure: c.precinct_determined === false };
  }

  function showCandidate(c) {
    clearCandidates();
    status("");
    if (S.found) { S.map.removeLayer(S.found); }
    var ll = [c.lat, c.lon];
    S.found = L.circleMarker(ll, { radius: 11, color: "#ffffff", weight: 3, fillColor: "#b00020", fillOpacity: 1 });
    S.found.addTo(S.map);
    var address = [c.street, c.housenumber].filter(Boolean).join(" ");
    var sure = sureness(c);
    var extra = { address: address, on_border: c.on_border, travel_to_post: sure.unsure ? null : c.travel_to_post,
      sureness: sure.lines, unsure: sure.unsure };
    if (c.precinct && S.byId[c.precinct.id]) {
      selectPrecinct(c.precinct.id, extra, false);
    } else if (c.precinct) {
      showCard({ id: c.precinct.id, name: c.precinct.name, source: c.precinct.source, inspectors: c.inspectors, post: c.post },
        extra);
      // Tiles: the card again from /precincts/<id> (the precinct's own inspectors and post), with its outline.
      if (!S.precincts) { remotePrecinct(c.precinct.id, extra, true, false); }
    } else {
      hideCard();
      var near = c.nearest_precinct || {};
      var nearName = (S.byId[near.id] && S.byId[near.id].feature.properties.name) || near.name || near.id || "";
      status(tr("err_outside", { name: nearName, distance: Math.round(near.distance_m || 0) }), true);
    }
    S.map.setView(ll, Math.max(S.map.getZoom(), 16));
  }

  function showCandidates(candidates) {
    var list = document.getElementById("gs-candidates");
    list.textContent = "";
    status(tr("choose_candidate"));
    candidates.forEach(function (c) {
      var li = el("li");
      var b = el("button", "gs-candidate", candidateLabel(c));
      b.type = "button";
      b.addEventListener("click", function () { showCandidate(c); });
      li.appendChild(b);
      list.appendChild(li);
    });
    list.hidden = false;
    resize();
  }

  function problemText(status, body) {
    body = body || {};
    if (status === 404 && body.nearest_precinct) {
      return tr("err_outside", { name: body.nearest_precinct.name || body.nearest_precinct.id,
        distance: Math.round(body.distance_m || 0) });
    }
    if (status === 404) { return tr("err_not_found"); }
    if (status === 400 || status === 422) { return tr("err_bad_input", { detail: body.detail || "" }); }
    return tr("err_server");
  }

  function search(ev) {
    ev.preventDefault();
    var q = document.getElementById("gs-q").value.trim();
    clearCandidates();
    if (!q) { status(tr("err_empty"), true); return; }
    if (!/^https?:$/.test(location.protocol)) { status(tr("err_offline"), true); return; }
    status(tr("searching"));
    var url = cfg().api + "/lookup?address=" + encodeURIComponent(q);
    fetch(url, { headers: { Accept: "application/json" } }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) { status(problemText(resp.status, body), true); return; }
        var cands = body.candidates || [];
        if (!cands.length) { status(tr("err_not_found"), true); return; }
        if (body.ambiguous) { showCandidates(cands); } else { showCandidate(cands[0]); }
      });
    }).catch(function () { status(tr("err_offline"), true); });
  }

  // -- a point: a click on the tiles' map, or "use my location" ---------------------------------
  function mark(ll) {
    if (S.found) { S.map.removeLayer(S.found); }
    S.found = L.circleMarker(ll, { radius: 11, color: "#ffffff", weight: 3, fillColor: "#b00020", fillOpacity: 1 });
    S.found.addTo(S.map);
  }

  // The answer for a point (POST: the place stays out of URLs and logs); extra.here: the person's own place.
  function lookupPoint(lat, lon, extra) {
    if (!/^https?:$/.test(location.protocol)) { status(tr("err_offline"), true); return Promise.resolve(); }
    var asked = ++S.asked;
    return fetch(cfg().api + "/lookup", { method: "POST", body: JSON.stringify({ lat: lat, lon: lon }),
      headers: { Accept: "application/json", "Content-Type": "application/json" } }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (asked !== S.asked) { return; }
        if (!resp.ok) { hideCard(); status(problemText(resp.status, body), true); return; }
        status("");
        var p = body.precinct || {};
        var more = { on_border: body.on_border, travel_to_post: body.travel_to_post, here: extra && extra.here };
        showCard({ id: p.id, name: p.name, source: p.source, inspectors: body.inspectors, post: body.post }, more);
        if (!S.precincts && p.id) { remotePrecinct(p.id, more, false, false); }
      });
    }).catch(function () { status(tr("err_offline"), true); });
  }

  function useMyLocation() {
    var button = document.getElementById("gs-here");
    clearCandidates();
    if (!navigator.geolocation || !window.isSecureContext) { status(tr("geo_unavailable"), true); return; }
    status(tr("locating"));
    button.setAttribute("aria-busy", "true");
    navigator.geolocation.getCurrentPosition(function (pos) {
      button.removeAttribute("aria-busy");
      var ll = [pos.coords.latitude, pos.coords.longitude];
      mark(ll);
      S.map.setView(ll, Math.max(S.map.getZoom(), 16));
      lookupPoint(ll[0], ll[1], { here: true });
    }, function (err) {
      button.removeAttribute("aria-busy");
      status(tr(err && err.code === 1 ? "geo_denied" : "geo_unavailable"), true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  // -- start ----------------------------------------------------------------------------------
  function registerServiceWorker() {
    var sw = cfg().sw;
    if (!sw || !("serviceWorker" in navigator) || !window.isSecureContext) { return; }
    navigator.serviceWorker.register(sw, { scope: "/" }).catch(function () { /* offline use only */ });
  }

  function init(map, precincts, posts, osm, cluster) {
    S.map = map;
    if (cfg().posts) {  // tiles: the posts come as [lat, lon, name, precinct] rows of the config
      posts.addData({ type: "FeatureCollection", features: cfg().posts.map(function (r) {
        return { type: "Feature", geometry: { type: "Point", coordinates: [r[1], r[0]] },
          properties: { name: r[2], precinct: r[3] } };
      }) });
      if (cluster) { cluster.addLayer(posts); }
    }
    S.precincts = precincts;
    if (precincts) {
      precincts.eachLayer(function (layer) {
        S.byId[layer.feature.properties.id] = layer;
      });
      precincts.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        selectPrecinct(e.layer.feature.properties.id, null, false);
      });
    } else {
      map.on("click", function (e) {
        clearCandidates();
        mark(e.latlng);
        lookupPoint(e.latlng.lat, e.latlng.lng, null);
      });
    }
    posts.eachLayer(function (layer) {
      var p = layer.feature.properties;
      var tip = el("span", null, p.name);
      layer.bindTooltip(tip);
      layer.on("click", function () { selectPrecinct(p.precinct, null, false); });
    });
    // Roads are OpenStreetMap data too: keep the credit visible with or without tiles.
    // The tile layer brings its own (linked) credit; the plain one stands in while it is off.
    var credit = cfg().attribution.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    map.attributionControl.addAttribution(credit);
    map.on("overlayadd", function (e) {
      if (e.layer === osm) { map.attributionControl.removeAttribution(credit); }
    });
    map.on("overlayremove", function (e) {
      if (e.layer === osm) { map.attributionControl.addAttribution(credit); }
    });
    document.getElementById("gs-search").addEventListener("submit", search);
    document.getElementById("gs-here").addEventListener("click", useMyLocation);
    Array.prototype.forEach.call(document.querySelectorAll(".gs-legend-item"), function (b) {
      b.addEventListener("click", function () { selectPrecinct(b.getAttribute("data-precinct"), null, true); });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".gs-swatch"), function (s) {
      s.style.backgroundColor = s.getAttribute("data-colour");
      s.style.borderColor = s.getAttribute("data-colour");
    });
    var legend = document.getElementById("gs-legend");
    legend.addEventListener("toggle", resize);
    if (window.matchMedia("(min-width: 800px)").matches) { legend.open = true; }
    window.addEventListener("resize", resize);
    resize();
    registerServiceWorker();
  }

  window.GeoServicePage = { init: init, select: selectPrecinct, lookupPoint: lookupPoint };
}());
