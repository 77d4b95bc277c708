// The console's one script: the viewer's time zone for the server, live updates over SSE
// (replacing the page's live parts in place, a banner while they may be stale), and keyboard
// shortcuts with their cheat sheet. No framework, nothing loaded from elsewhere.
(function () {
  "use strict";
  var body = document.body;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("caseflow_tz=" + zone) < 0) {
    document.cookie = "caseflow_tz=" + zone + ";path=/;max-age=31536000;SameSite=Lax";
  }

  var stale = document.getElementById("stale");
  function setStale(on) { if (stale) { stale.hidden = !on; } }

  function editing(part) {
    var active = document.activeElement;
    return part.contains(active) && (active.value || "").length > 0;
  }

  var refreshing = null;
  function refresh() {
    if (refreshing) { return; }
    refreshing = fetch(window.location.href, {credentials: "same-origin",
                                              headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        fresh.querySelectorAll("[data-live-part]").forEach(function (part) {
          var name = part.getAttribute("data-live-part");
          var here = document.querySelector('[data-live-part="' + name + '"]');
          if (here && !editing(here)) { here.innerHTML = part.innerHTML; }
        });
        body.setAttribute("data-refreshed", String(Date.now()));
        setStale(false);
      })
      .catch(function () { setStale(true); })
      .finally(function () { refreshing = null; });
  }

  var pending = null;
  function soon() {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; refresh(); }, 150);
  }

  if (body.dataset.live === "on" && window.EventSource) {
    var url = "/console/live?after=" + encodeURIComponent(body.dataset.position || "0");
    if (body.dataset.request) { url += "&request_id=" + encodeURIComponent(body.dataset.request); }
    var source = new EventSource(url);
    var types = (body.dataset.eventTypes || "").split(" ");
    var opened = false;
    types.forEach(function (type) { if (type) { source.addEventListener(type, soon); } });
    source.onopen = function () {
      if (opened) { refresh(); }  // back after a break: catch up whatever the page missed
      opened = true;
      setStale(false);
    };
    source.onerror = function () { setStale(true); };
    // A connection can also die without an error (a laptop's network gone): the browser's own
    // offline mark shows the banner, and coming back catches up at once.
    window.addEventListener("offline", function () { setStale(true); });
    window.addEventListener("online", refresh);
    // Remaining business time moves on by itself: redraw the badges now and then.
    setInterval(refresh, 30000);
  }

  var cheatsheet = document.getElementById("cheatsheet");
  document.querySelectorAll("[data-cheatsheet]").forEach(function (button) {
    button.addEventListener("click", function () { cheatsheet.showModal(); });
  });
  var keys = {c: "claim", n: "add_note", a: "ask_customer", d: "complete_step", r: "resolve"};
  var lastKey = "";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) { return; }
    if (event.key === "?") { event.preventDefault(); cheatsheet.showModal(); return; }
    if (event.key === "/") {
      var search = document.querySelector("[data-search]");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (lastKey === "g" && event.key === "w") { window.location.href = "/console/work"; return; }
    lastKey = event.key;
    var action = keys[event.key];
    if (!action) { return; }
    var details = document.querySelector('details[data-action="' + action + '"]');
    if (!details) { return; }
    event.preventDefault();
    details.open = true;
    var first = details.querySelector("textarea, input:not([type=hidden]), select, button");
    if (first) { first.focus(); }
  });
})();
