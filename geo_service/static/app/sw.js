/* Service worker of the pages (served at /sw.js, scope /, with GS_VERSION and GS_SHELL
 * prepended by geo_service.render.service_worker_js).
 *
 * - install: store the app shell (vendored scripts, styles, fonts, images; the pages' own files);
 * - static files: cache first (their URLs carry their content's hash);
 * - base map tiles (/tiles/<bundle version>/z/x/y.mvt): cache first, kept across versions of
 *   this worker; a page asks the worker to keep the tiles of a route's area ("gs-keep-tiles",
 *   basemap.js), so the route's map still draws offline; tiles of older bundles are dropped;
 * - pages (navigations): network first, the answer stored, the stored copy when offline,
 *   so a page opened once still shows when the connection drops;
 * - "made"/"undo" marks of the route page (form POSTs to /r/<link>/stops/<n>/done|undo):
 *   to the network; offline, the mark is kept on the phone (its time included) and sent,
 *   in order, before the next page is fetched, when the route page sees the connection come
 *   back ("gs-flush-marks"), or on Background Sync; a short page says so meanwhile; a mark the
 *   server refuses stays kept, marked, and the route page lists it (route.js);
 * - the JSON API and everything else: straight to the network (never stored).
 */
"use strict";

var SHELL_CACHE = "gs-shell-" + GS_VERSION;
var PAGE_CACHE = "gs-pages-" + GS_VERSION;
// Not named "gs-...": tiles are versioned by their bundle, not by this worker.
var TILE_CACHE = "gst-tiles";
var TILE_PATH = /\/tiles\/([^/]+)\/\d+\/\d+\/\d+\.mvt$/;

function isTile(url) {
  return url.origin === self.location.origin && TILE_PATH.test(url.pathname);
}

function storeTile(cache, request, resp) {
  if (resp.ok) { cache.put(request, resp.clone()); }
  return resp;
}

function keepTiles(urls) {
  var version = null;
  return caches.open(TILE_CACHE).then(function (cache) {
    var wanted = urls.filter(function (u) {
      var url = new URL(u, self.location.origin);
      var m = TILE_PATH.exec(url.pathname);
      if (m && url.origin === self.location.origin) { version = m[1]; return true; }
      return false;
    });
    return Promise.all(wanted.map(function (u) {
      return cache.match(u).then(function (hit) {
        return hit || fetch(u).then(function (resp) { return storeTile(cache, u, resp); }).catch(function () { return null; });
      });
    })).then(function () {
      if (!version) { return null; }
      return cache.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) {
          var m = TILE_PATH.exec(new URL(k.url).pathname);
          return m && m[1] !== version;
        }).map(function (k) { return cache.delete(k); }));
      });
    });
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "gs-keep-tiles" && Array.isArray(data.urls)) {
    event.waitUntil(keepTiles(data.urls.slice(0, 500)));
  }
});

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

// Not named "gs-...": the queue outlives a new version of the worker.
var MARK_QUEUE = "gsq-marks";
var MARK_PATH = /\/r\/[^/]+\/stops\/(\d+)\/(done|undo)$/;
var SAVED = {
  kk: ["Телефонда сақталды", "Байланыс қалпына келгенде белгі жіберіледі.", "Маршрутқа оралу"],
  ru: ["Сохранено на телефоне", "Отметка уйдёт, когда появится связь.", "Назад к маршруту"],
  en: ["Saved on this phone", "The mark will be sent when the connection is back.", "Back to the route"]
};

function isMark(request, url) {
  return request.method === "POST" && url.origin === self.location.origin && MARK_PATH.test(url.pathname);
}

function queueMark(url, at) {
  return caches.open(MARK_QUEUE).then(function (cache) {
    // Keys start with the time, so their order is the order the marks were made in.
    var key = self.location.origin + "/__gs-queue/" + at + "-" + Math.random().toString(36).slice(2);
    return cache.put(new Request(key), new Response(JSON.stringify({ url: url, at: at })));
  });
}

var flushing = null;

// One flush at a time (a page's "online" message and a navigation may ask together).
function flushMarks() {
  if (!flushing) {
    flushing = sendMarks().then(function () { flushing = null; }, function () { flushing = null; });
  }
  return flushing;
}

function sendMarks() {
  return caches.open(MARK_QUEUE).then(function (cache) {
    return cache.keys().then(function (keys) {
      keys.sort(function (a, b) { return a.url < b.url ? -1 : 1; });
      return keys.reduce(function (done, key) {
        return done.then(function () {
          return cache.match(key).then(function (r) { return r.json(); }).then(function (mark) {
            var body = new URLSearchParams();
            if (/\/done$/.test(new URL(mark.url).pathname)) { body.set("done_at", new Date(mark.at).toISOString()); }
            if (mark.refused) { return null; }  // kept for the page to show, not sent again
            // The server's 303 settles the mark. A refusal (say, the link expired) is kept,
            // marked, for the route page to show; a network error keeps it (and the rest).
            return fetch(mark.url, { method: "POST", body: body, redirect: "manual", credentials: "same-origin" })
              .then(function (resp) {
                if (resp.type === "opaqueredirect" || resp.ok) { return cache.delete(key); }
                mark.refused = resp.status;
                return cache.put(key, new Response(JSON.stringify(mark)));
              });
          });
        });
      }, Promise.resolve());
    });
  }).catch(function () { return null; });
}

function savedOffline(url) {
  var lang = url.searchParams.get("lang");
  var t = SAVED[lang] || SAVED.ru;
  var m = MARK_PATH.exec(url.pathname);
  var back = url.pathname.replace(/\/stops\/\d+\/(done|undo)$/, "") + "?lang=" + encodeURIComponent(lang || "ru") + "#gs-stop-" + m[1];
  var html = "<!doctype html><html lang=\"" + (SAVED[lang] ? lang : "ru") + "\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" + t[0] + "</title>" +
    "<style>body{font:18px/1.5 system-ui,sans-serif;margin:24px}a{display:inline-flex;align-items:center;min-height:44px;" +
    "padding:10px 16px;background:#0b57d0;color:#fff;border-radius:8px;text-decoration:none}</style></head>" +
    "<body><h1 class=\"gs-saved\">✓ " + t[0] + "</h1><p>" + t[1] + "</p><p><a id=\"gs-back\" href=\"" + back + "\">" +
    t[2] + "</a></p></body></html>";
  return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

// The route page asks for kept marks to be sent when the connection is back ("online"), and
// Background Sync, where the browser has it, does the same without the page.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "gs-flush-marks") { return; }
  var port = event.ports && event.ports[0];
  event.waitUntil(flushMarks().then(function () { if (port) { port.postMessage({ type: "gs-marks-flushed" }); } }));
});

self.addEventListener("sync", function (event) {
  if (event.tag === "gs-marks") { event.waitUntil(flushMarks()); }
});

function askSync() {
  var sync = self.registration && self.registration.sync;
  if (sync) { return sync.register("gs-marks").catch(function () { return null; }); }
  return Promise.resolve(null);
}

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.indexOf("/static/") !== -1;
}

function isPage(request, url) {
  return request.mode === "navigate" && url.origin === self.location.origin &&
    url.pathname.indexOf("/api/") === -1;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (isMark(request, url)) {
    var at = Date.now();
    event.respondWith(fetch(request.clone()).catch(function () {
      return queueMark(request.url, at).then(askSync).then(function () { return savedOffline(url); });
    }));
    return;
  }
  if (request.method !== "GET") { return; }
  if (isTile(url)) {
    event.respondWith(caches.open(TILE_CACHE).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (resp) { return storeTile(cache, request, resp); });
      });
    }));
  } else if (isStatic(url)) {
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
    // Marks kept offline go first, so the page fetched next shows them.
    event.respondWith(flushMarks().then(function () { return fetch(request); }).then(function (resp) {
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
