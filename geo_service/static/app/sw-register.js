/* Register the service worker from pages without a map (the home page). */
(function () {
  "use strict";
  if ("serviceWorker" in navigator && window.isSecureContext && /^https?:$/.test(location.protocol)) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* offline use only */ });
  }
}());
