/* Resumable uploads with tus-js-client, a progress bar per file and overall, and live processing status.
   tus-js-client remembers unfinished uploads (by file fingerprint) in localStorage, so choosing the same
   file again after a dropped connection or a closed tab resumes where it stopped. */
(function () {
  "use strict";
  var section = document.getElementById("upload");
  if (!section || !window.tus) { return; }
  var endpoint = section.dataset.endpoint;
  var objectId = section.dataset.object;
  var collection = section.dataset.collection;  /* batch mode: one draft object per file name */
  var statusUrl = section.dataset.status;
  var input = document.getElementById("files");
  var list = document.getElementById("uploads");
  var overall = document.getElementById("overall");
  var totals = {};

  function csrfToken() {
    /* From a form on the page (base.html's language form has one): the CSRF cookie is HttpOnly. */
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function formatBytes(n) {
    var units = (section.dataset.units || "B KB MB GB TB").split(" "), i = 0;  /* translated in the template */
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }

  function refreshOverall() {
    var sent = 0, size = 0;
    Object.keys(totals).forEach(function (k) { sent += totals[k][0]; size += totals[k][1]; });
    overall.hidden = size === 0;
    overall.querySelector("progress").value = size ? (100 * sent / size) : 0;
    overall.querySelector(".label").textContent = formatBytes(sent) + " / " + formatBytes(size);
  }

  function start(file, index) {
    var key = index + ":" + file.name;
    var item = document.createElement("li");
    var name = document.createElement("span");
    name.textContent = file.name + " ";
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var label = document.createElement("span");
    label.className = "label";
    item.append(name, bar, label);
    list.appendChild(item);
    totals[key] = [0, file.size];
    refreshOverall();
    var upload = new tus.Upload(file, {
      endpoint: endpoint,
      chunkSize: 16 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 60000],
      removeFingerprintOnSuccess: true,
      headers: { "X-CSRFToken": csrfToken() },
      metadata: collection
        ? { filename: file.name, filetype: file.type, collection: collection, group: file.name }
        : { filename: file.name, filetype: file.type, object: objectId },
      onError: function (error) {
        uploading -= 1;
        item.className = "error";
        label.textContent = " " + (error.originalResponse ? error.originalResponse.getBody() : error.message);
      },
      onProgress: function (sent, total) {
        bar.value = total ? 100 * sent / total : 100;
        label.textContent = " " + formatBytes(sent) + " / " + formatBytes(total);
        totals[key] = [sent, total];
        refreshOverall();
      },
      onSuccess: function () {
        uploading -= 1;
        item.className = "done";
        label.textContent = " ✓";
        poll();
      }
    });
    uploading += 1;
    wasBusy = true;
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) { upload.resumeFromPreviousUpload(previous[0]); }
      upload.start();
    });
  }

  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, start);
    input.value = "";
  });

  var timer = null;
  var wasBusy = false;
  var uploading = 0;
  function render(data) {
    var tbody = document.querySelector("#assets tbody");
    var busy = false;
    data.assets.forEach(function (a) {
      var row = tbody.querySelector('tr[data-asset="' + a.id + '"]');
      if (!row) {
        var empty = tbody.querySelector("tr.empty");
        if (empty) { empty.remove(); }
        row = document.createElement("tr");
        row.dataset.asset = a.id;
        row.innerHTML = '<td class="thumbcell"></td><td class="name"></td><td class="state"></td>' +
          '<td><progress max="100" value="0"></progress> <span class="stage"></span></td><td class="copies"></td>' +
          (collection ? '<td class="object"><a></a></td>' : '');
        row.querySelector(".name").textContent = a.filename;
        if (collection) {
          var link = row.querySelector(".object a");
          link.href = a.object_url;
          link.textContent = a.object + " " + a.object_title;
        }
        tbody.appendChild(row);
      }
      row.querySelector(".state").textContent = a.status_label + (a.message ? " — " + a.message : "");
      row.querySelector("progress").value = a.progress;
      row.querySelector(".stage").textContent = a.stage;
      row.querySelector(".copies").textContent = a.copies;
      var cell = row.querySelector(".thumbcell");
      if (a.thumbnail && !cell.querySelector("img")) {
        var img = document.createElement("img");
        img.src = a.thumbnail; img.width = 96; img.alt = "";
        cell.appendChild(img);
      }
      if (!a.done) { busy = true; }
    });
    return busy;
  }

  function poll() {
    if (timer) { return; }
    timer = setTimeout(function () {
      timer = null;
      fetch(statusUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (render(data) || uploading > 0) { wasBusy = true; poll(); }
          else if (wasBusy && !collection) { window.location.reload(); }  /* show new replicas, versions, events */
        })
        .catch(function () { poll(); });
    }, 1500);
  }
  poll();
})();
