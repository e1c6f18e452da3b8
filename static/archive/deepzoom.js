/* Deep-zoom image viewer: OpenSeadragon (vendored, no CDN) on each image's IIIF info.json.

   Progressive enhancement of <figure class="deepzoom-wrap">: without script (or if the image service fails)
   the plain <img> link stays. With it:
   - info.json is fetched from this page's origin with the visitor's cookies, and tiles are requested from
     this origin too (the document's "id" is built on ARCHIVE_SITE_URL, which may name another host in
     development or behind a proxy; restricted images need the session cookie);
   - the <img> stays in place under the viewer until the first view is fully drawn, then is hidden (an
     image further down the page is hidden before it is ever fetched: it is lazy);
   - the viewer canvas is focusable, labelled and described (OpenSeadragon's keys: arrows or WASD move,
     + and - zoom, 0 resets, R rotates); the buttons below it do the same for pointer and touch users;
   - progress and errors go to .deepzoom-status (role="status").
   window.archiveDeepZoom lists the viewers (for tests and the browser console). */
(function () {
  "use strict";
  var viewers = (window.archiveDeepZoom = []);
  if (!window.OpenSeadragon || !window.fetch) { return; }

  function sameOrigin(info) {
    try {
      var id = new URL(info.id, location.href);
      if (id.origin !== location.origin) { info.id = location.origin + id.pathname; }
    } catch (error) { /* not a URL: let OpenSeadragon report it */ }
    return info;
  }

  function enhance(box) {
    var figure = box.closest("figure");
    // The image's shape, so the viewer's box has it before the first tile arrives (set here, not in a style
    // attribute: the Content-Security-Policy allows no inline style).
    if (box.dataset.ratio) { box.style.setProperty("--deepzoom-ratio", box.dataset.ratio); }
    var fallback = figure.querySelector(".deepzoom-fallback");
    var controls = figure.querySelector("figcaption");
    var status = figure.querySelector(".deepzoom-status");
    var text = {
      loading: box.dataset.loadingLabel || "Loading the zoomable image…",
      error: box.dataset.errorLabel || "The zoomable image could not be loaded."
    };

    function say(message, isError) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("error", !!isError);
    }

    function fail() {
      say(text.error, true);
      box.hidden = true;
      if (controls) { controls.hidden = false; controls.querySelectorAll("button").forEach(function (b) { b.hidden = true; }); }
      figure.classList.add("failed");
    }

    say(text.loading);
    fetch(box.dataset.info, { credentials: "same-origin", headers: { Accept: "application/ld+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (info) {
        box.hidden = false;
        if (controls) { controls.hidden = false; }
        var viewer = OpenSeadragon({
          element: box,
          prefixUrl: box.dataset.images,
          tileSources: sameOrigin(info),
          drawer: "canvas",
          showNavigationControl: false,
          visibilityRatio: 1,
          constrainDuringPan: true,
          maxZoomPixelRatio: 2,
          crossOriginPolicy: false
        });
        viewers.push(viewer);
        var canvas = viewer.canvas;
        canvas.setAttribute("role", "application");
        canvas.setAttribute("aria-roledescription", box.dataset.roleLabel || "zoomable image");
        canvas.setAttribute("aria-label", box.getAttribute("aria-label") || "");
        if (box.dataset.help) { canvas.setAttribute("aria-describedby", box.dataset.help); }

        viewer.addHandler("open", function () {
          var item = viewer.world.getItemAt(0);
          var done = function () {
            if (fallback) { fallback.hidden = true; }
            figure.classList.add("loaded");
            say("");
          };
          if (item.getFullyLoaded()) { done(); return; }
          var changed = function (event) {
            if (event.fullyLoaded) { item.removeHandler("fully-loaded-change", changed); done(); }
          };
          item.addHandler("fully-loaded-change", changed);
        });
        viewer.addHandler("open-failed", fail);

        if (controls) {
          controls.addEventListener("click", function (event) {
            var button = event.target.closest("button[data-action]");
            if (!button || !viewer.viewport) { return; }
            var action = button.dataset.action;
            if (action === "zoom-in") { viewer.viewport.zoomBy(1.5); }
            else if (action === "zoom-out") { viewer.viewport.zoomBy(1 / 1.5); }
            else if (action === "home") { viewer.viewport.goHome(); }
            else if (action === "full-page") { viewer.setFullScreen(!viewer.isFullPage()); }
            viewer.viewport.applyConstraints();
          });
        }
      })
      .catch(fail);
  }

  document.querySelectorAll(".deepzoom[data-info]").forEach(enhance);
})();
