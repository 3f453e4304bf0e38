/* The investor's shortlist: plot ids kept in this browser (localStorage), shown as a link to
   /maps/shortlist?plots=1,2,3 that can be shared. Any element
   <button class="shortlist-toggle" data-plot-id data-add data-remove data-full> adds or
   removes its plot; elements .shortlist-count show how many are kept. No inline handlers:
   the pages' CSP allows scripts from the platform only. */
(function () {
  "use strict";
  var KEY = "locations.shortlist";
  var MAX = 5;  // the compare page shows five side by side

  function read() {
    try {
      var ids = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(ids) ? ids.filter(function (id) { return /^[0-9]+$/.test(String(id)); })
        .map(String).slice(0, MAX) : [];
    } catch (error) {
      return [];
    }
  }

  function write(ids) {
    try { window.localStorage.setItem(KEY, JSON.stringify(ids)); } catch (error) { /* private mode */ }
    refresh();
  }

  function refresh() {
    var ids = read();
    document.querySelectorAll(".shortlist-count").forEach(function (el) {
      el.textContent = String(ids.length);
    });
    var link = document.getElementById("shortlist-link");
    if (link) {
      var url = new URL(link.href, window.location.href);
      if (ids.length) { url.searchParams.set("plots", ids.join(",")); } else { url.searchParams.delete("plots"); }
      link.href = url.pathname + url.search;
    }
    document.querySelectorAll("button.shortlist-toggle").forEach(function (button) {
      var kept = ids.indexOf(button.dataset.plotId) >= 0;
      button.setAttribute("aria-pressed", kept ? "true" : "false");
      button.textContent = kept ? button.dataset.remove : button.dataset.add;
      button.disabled = !kept && ids.length >= MAX;
      button.title = button.disabled ? button.dataset.full : "";
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.shortlist-toggle");
    if (!button) { return; }
    var ids = read(), id = button.dataset.plotId, at = ids.indexOf(id);
    if (at >= 0) { ids.splice(at, 1); } else if (ids.length < MAX) { ids.push(id); }
    write(ids);
  });

  // The shortlist page: with no plots in its URL it shows the ones kept here; a shared link's
  // plots can be kept with the "keep" button.
  var page = document.querySelector("[data-shortlist-page]");
  if (page) {
    var shown = page.dataset.plots ? page.dataset.plots.split(",") : [];
    if (!shown.length && read().length) {
      var here = new URL(window.location.href);
      here.searchParams.set("plots", read().join(","));
      window.location.replace(here.pathname + here.search);
      return;
    }
    var keep = document.getElementById("shortlist-keep");
    if (keep) {
      keep.addEventListener("click", function () { write(shown.slice(0, MAX)); });
    }
  }
  window.addEventListener("storage", refresh);
  refresh();
})();
