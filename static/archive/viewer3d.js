/* 3D viewer: a small progressive enhancement around <model-viewer class="viewer3d"> (vendored, no CDN).

   - keeps model-viewer off the network: its Draco/KTX2 decoder and Lottie loader locations default to
     gstatic/jsdelivr; they are pointed at our own static folder (nothing is vendored there because our GLBs
     use none of those extensions, so a file that needed one fails locally instead of calling a CDN). The
     meshopt decoder location is left unset on purpose: setting it makes model-viewer fetch it at once.
   - wires the "Reset view" button (.reset3d) to the camera orbit, target and field of view the page set;
   - reports loading progress and load errors in .viewer3d-status (role="status").
   Load this file before the model-viewer module (both deferred: they then run in document order), so the
   configuration exists when the first element is created; a later load still works (static setters). */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL("../vendor/model-viewer/", script ? script.src : location.href).href;
  var local = {
    dracoDecoderLocation: base + "draco/",
    ktx2TranscoderLocation: base + "basis/",
    lottieLoaderLocation: base + "lottie-loader.js"
  };
  var config = self.ModelViewerElement = self.ModelViewerElement || {};
  Object.keys(local).forEach(function (key) { config[key] = local[key]; });
  if (window.customElements) {
    customElements.whenDefined("model-viewer").then(function () {
      var element = customElements.get("model-viewer");
      Object.keys(local).forEach(function (key) { element[key] = local[key]; });
    });
  }

  var DEFAULTS = { "camera-orbit": "0deg 75deg 105%", "camera-target": "auto auto auto", "field-of-view": "auto" };

  function enhance(viewer) {
    var box = viewer.closest("figure") || viewer.parentElement;
    var button = box.querySelector(".reset3d");
    var status = box.querySelector(".viewer3d-status");
    var text = {
      loading: viewer.dataset.loadingLabel || "Loading 3D model…",
      error: viewer.dataset.errorLabel || "The 3D model could not be loaded.",
      unsupported: viewer.dataset.unsupportedLabel || "This browser cannot show 3D models."
    };
    var start = {};
    Object.keys(DEFAULTS).forEach(function (name) { start[name] = viewer.getAttribute(name) || DEFAULTS[name]; });

    function say(message, isError) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("error", !!isError);
    }

    if (!window.customElements) {
      say(text.unsupported, true);
      if (button) { button.hidden = true; }
      return;
    }
    if (button) {
      button.addEventListener("click", function () {
        viewer.cameraOrbit = start["camera-orbit"];
        viewer.cameraTarget = start["camera-target"];
        viewer.fieldOfView = start["field-of-view"];
        if (viewer.resetTurntableRotation) { viewer.resetTurntableRotation(); }
      });
    }
    viewer.addEventListener("progress", function (event) {
      var done = event.detail && event.detail.totalProgress;
      if (done < 1) { say(text.loading + " " + Math.round(100 * done) + "%"); }
    });
    viewer.addEventListener("load", function () {
      say("");
      box.classList.add("loaded");
    });
    viewer.addEventListener("error", function (event) {
      var kind = event.detail && event.detail.type;
      say(kind === "webglcontextlost" ? text.unsupported : text.error, true);
      box.classList.add("failed");
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("model-viewer.viewer3d"), enhance);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
