/* API docs page: Swagger UI (vendored swagger-ui-dist) over the service's OpenAPI document. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never ask validator.swagger.io
    tryItOutEnabled: false
  });
}());
