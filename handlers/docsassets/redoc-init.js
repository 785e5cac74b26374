// ReDoc on the service's own document. Search is off: it runs in a web
// worker made from a blob: URL, which the Content-Security-Policy refuses.
Redoc.init("openapi.json", { disableSearch: true }, document.getElementById("redoc"));
