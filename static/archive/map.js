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

  function clusterIcon(count) {
    var badge = document.createElement("span");
    badge.className = "map-cluster-count";
    badge.textContent = String(count);
    var size = count < 100 ? 32 : count < 10000 ? 40 : 48;
    return L.divIcon({ html: badge, className: "map-cluster", iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
  }

  function addCluster(feature, group) {
    var coords = feature.geometry.coordinates;
    var latlng = L.latLng(coords[1], coords[0]);
    var count = feature.properties.count;
    var label = (data.clusterLabel || "%(n)s").replace("%(n)s", String(count));
    var marker = L.marker(latlng, { icon: clusterIcon(count), title: label, keyboard: true });
    marker.on("click", function () {
      map.setView(latlng, Math.min(map.getZoom() + 3, 18));
    });
    marker.addTo(group);
    var element = marker.getElement();
    if (element) {
      element.setAttribute("aria-label", label);
    }
  }

  var group = L.featureGroup().addTo(map);
  var requested = 0;

  function load(withBounds) {
    var url = data.geojsonUrl;
    if (withBounds) {
      url += (url.indexOf("?") < 0 ? "?" : "&") + "bbox=" + encodeURIComponent(map.getBounds().toBBoxString());
    }
    var ticket = ++requested;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (collection) {
        if (ticket !== requested) {
          return null; /* a newer view was asked for meanwhile */
        }
        var features = (collection && collection.features) || [];
        group.clearLayers();
        features.forEach(function (feature) {
          if (feature.properties && feature.properties.cluster) {
            addCluster(feature, group);
          } else {
            addFeature(feature, group);
          }
        });
        say(features.length ? "" : data.emptyLabel);
        return features;
      })
      .catch(function () {
        say(data.errorLabel);
        return null;
      });
  }

  // First everything (points, or clusters for a large catalogue), framed; then what each view shows.
  load(false).then(function (features) {
    if (features && features.length) {
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 10 });
    }
    var timer = null;
    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        load(true);
      }, 250);
    });
  });
})();
