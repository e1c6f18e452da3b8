/* The public map (templates/portal/map.html): markers from the GeoJSON at data-geojson-url.
   Catalogue text only ever goes in through textContent / attributes, never as HTML. Points with
   exact: false are generalized by the server (0.1°); they are drawn as a ~11 km circle. */
(function () {
  "use strict";

  var APPROXIMATE_RADIUS_M = 11000;
  var container = document.getElementById("archive-map");
  var status = document.getElementById("archive-map-status");
  if (!container || !window.L) {
    return;
  }
  var data = container.dataset;

  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  var map = L.map(container, { worldCopyJump: true, scrollWheelZoom: true, zoomControl: false }).setView([20, 0], 2);
  // Leaflet's own zoom buttons, with their titles in the page's language (data-zoom-*-label, translated).
  L.control
    .zoom({ zoomInTitle: data.zoomInLabel || "Zoom in", zoomOutTitle: data.zoomOutLabel || "Zoom out" })
    .addTo(map);
  if (data.tileUrl) {
    // The attribution is set by the operator (ARCHIVE_MAP_ATTRIBUTION), not by catalogue data.
    L.tileLayer(data.tileUrl, { maxZoom: 19, attribution: data.attribution || "" }).addTo(map);
  }

  function popupFor(props) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var link = document.createElement("a");
    link.href = props.url;
    link.textContent = props.title || props.identifier;
    if (props.lang) {
      link.lang = props.lang;
      link.dir = props.dir || "auto";
    }
    var heading = document.createElement("strong");
    heading.appendChild(link);
    box.appendChild(heading);
    if (props.thumbnail) {
      var img = document.createElement("img");
      img.src = props.thumbnail;
      img.alt = "";
      img.loading = "lazy";
      img.width = 160;
      box.appendChild(img);
    }
    if (!props.exact) {
      var note = document.createElement("p");
      note.className = "map-approximate";
      note.textContent = data.approximateLabel;
      box.appendChild(note);
    }
    return box;
  }

  function approximateIcon() {
    var ring = document.createElement("span");
    ring.className = "map-approximate-ring";
    return L.divIcon({ html: ring, className: "map-approximate-marker", iconSize: [22, 22], iconAnchor: [11, 11] });
  }

  function addFeature(feature, group) {
    var props = feature.properties || {};
    var coords = feature.geometry && feature.geometry.coordinates;
    if (!coords || coords.length < 2) {
      return;
    }
    var latlng = L.latLng(coords[1], coords[0]);
    var label = props.title || props.identifier || "";
    var marker;
    if (props.exact) {
      marker = L.marker(latlng, { alt: label, title: label, keyboard: true });
    } else {
      // The circle shows the area; the ring marker keeps it visible when zoomed out and reachable by keyboard.
      L.circle(latlng, { radius: APPROXIMATE_RADIUS_M, className: "map-approximate-area", interactive: false }).addTo(
        group
      );
      marker = L.marker(latlng, { icon: approximateIcon(), title: label, keyboard: true });
    }
    marker.bindPopup(function () {
      return popupFor(props);
    });
    marker.addTo(group);
    if (!props.exact) {
      var element = marker.getElement();
      if (element) {
        element.setAttribute("aria-label", label + " (" + data.approximateLabel + ")");
      }
    }
  }

  fetch(data.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (collection) {
      var features = (collection && collection.features) || [];
      var group = L.featureGroup().addTo(map);
      features.forEach(function (feature) {
        addFeature(feature, group);
      });
      if (!features.length) {
        say(data.emptyLabel);
        return;
      }
      say("");
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 10 });
    })
    .catch(function () {
      say(data.errorLabel);
    });
})();
