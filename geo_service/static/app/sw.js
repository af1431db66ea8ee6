/* Service worker of the pages (served at /sw.js, scope /, with GS_VERSION and GS_SHELL
 * prepended by geo_service.render.service_worker_js).
 *
 * - install: store the app shell (vendored scripts, styles, fonts, images; the pages' own files);
 * - static files: cache first (they are versioned with the deploy);
 * - pages (navigations): network first, the answer stored, the stored copy when offline,
 *   so a page opened once still shows when the connection drops;
 * - the JSON API and everything else: straight to the network (never stored).
 */
"use strict";

var SHELL_CACHE = "gs-shell-" + GS_VERSION;
var PAGE_CACHE = "gs-pages-" + GS_VERSION;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(GS_SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return k.indexOf("gs-") === 0 && k !== SHELL_CACHE && k !== PAGE_CACHE;
      }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/static/") !== -1;
}

function isPage(request, url) {
  return request.mode === "navigate" && url.origin === self.location.origin &&
    url.pathname.indexOf("/api/") === -1;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isStatic(url)) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (resp) {
        if (resp.ok) {
          var copy = resp.clone();
          caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return resp;
      });
    }));
  } else if (isPage(request, url)) {
    event.respondWith(fetch(request).then(function (resp) {
      if (resp.ok) {
        var copy = resp.clone();
        caches.open(PAGE_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return resp;
    }).catch(function () {
      return caches.open(PAGE_CACHE).then(function (cache) {
        return cache.match(request).then(function (hit) {
          return hit || cache.match(request, { ignoreSearch: true });
        });
      }).then(function (hit) {
        return hit || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
      });
    }));
  }
});
