// PARS's own script (no inline scripts anywhere: the CSP allows only files from this site).
// Every HTMX request carries the page's CSRF token, read from <meta name="csrf-token">, as the
// X-CSRF-Token header the server checks on every state-changing request.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});
