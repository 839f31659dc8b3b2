/* Swagger UI for /api/v1/docs. A file, not an inline script: the CSP forbids those.
   "Try it out" runs with the browser session, so writes carry the CSRF token. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      var method = (req.method || "GET").toUpperCase();
      if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && csrf) {
        req.headers["X-CSRFToken"] = csrf;
      }
      return req;
    }
  });
})();
