/* The "Share link created" page (templates/curation/share_created.html): the link's field selects itself
   when focused, and the Copy button puts the link on the clipboard, then says so (data-copied, translated).
   A static file, not an inline script: the Content-Security-Policy allows scripts from this site only. */
(function () {
  "use strict";
  var field = document.getElementById("share-url");
  var button = document.getElementById("copy-share-url");
  if (!field || !button) { return; }
  field.addEventListener("focus", function () { field.select(); });
  button.addEventListener("click", function () {
    field.select();
    var done = function () { button.textContent = button.dataset.copied; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done); }
    else { document.execCommand("copy"); done(); }
  });
})();
