(function () {
  "use strict";
  // Open the <details> around an in-page link target so links to evidence entries work.
  function reveal(id) {
    var el = id ? document.getElementById(id) : null;
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
    return el;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (link) { reveal(decodeURIComponent(link.getAttribute("href").slice(1))); }
  });
  window.addEventListener("hashchange", function () {
    var el = reveal(decodeURIComponent(location.hash.slice(1)));
    if (el) { el.scrollIntoView(); }
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  var initial = reveal(decodeURIComponent(location.hash.slice(1)));
  if (initial) { initial.scrollIntoView(); }
})();
