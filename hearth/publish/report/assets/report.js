(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("top-data").textContent);
  // the screen's columns: each shows (and sorts on) some of the list's columns
  var groups = JSON.parse(document.getElementById("top-groups").textContent);
  var table = document.getElementById("top-table");
  var tbody = table.querySelector("tbody");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var heads = table.querySelectorAll("thead th");
  var pageAt = document.getElementById("page-at");
  var pageSize = document.getElementById("page-size");
  var nav = {
    first: document.getElementById("page-first"),
    prev: document.getElementById("page-prev"),
    next: document.getElementById("page-next"),
    last: document.getElementById("page-last")
  };
  // where the score, the tier and the pseudonym are, and the tiers in risk order, from the page
  var SCORE = Number(table.dataset.scoreCol), TIER = Number(table.dataset.tierCol);
  var PID = Number(table.dataset.pidCol);
  var tierRank = {};
  table.dataset.tierOrder.split("|").forEach(function (t, i) { tierRank[t] = i; });
  var sortGroup = 0, sortDir = 1, page = 0, printing = false;
  function pct(v) { return (v * 100).toFixed(1) + "%"; }
  // what a search looks through: the cells as shown (the score as a percentage)
  var haystack = data.map(function (r) {
    return r.map(function (v, c) {
      return v === null ? "" : c === SCORE ? pct(v) : String(v);
    }).join(" ").toLowerCase();
  });
  function cmpCol(a, b, col) {
    var x = a[col], y = b[col];
    if (x === y) return 0;
    if (x === null) return 1;  // empty cells last, whichever way
    if (y === null) return -1;
    if (col === TIER && x in tierRank && y in tierRank) return (tierRank[x] - tierRank[y]) * sortDir;
    if (typeof x === "number" && typeof y === "number") return (x - y) * sortDir;
    return String(x).localeCompare(String(y)) * sortDir;
  }
  function cmp(a, b) {
    var cols = groups[sortGroup].cols;
    for (var i = 0; i < cols.length; i++) {
      var d = cmpCol(a, b, cols[i]);
      if (d) return d;
    }
    return a[0] - b[0];  // then by rank
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function fill(td, g, r) {
    var v = g.cols.map(function (c) { return r[c]; });
    if (g.key === "area") {  // each area's name, and its code where the name is not the code
      for (var i = 0; i + 1 < v.length; i += 2) {
        if (v[i] === null && v[i + 1] === null) continue;
        var line = el("div", v[i] === null ? v[i + 1] : v[i]);
        if (v[i + 1] !== null && v[i + 1] !== v[i]) line.appendChild(el("span", " " + v[i + 1], "code"));
        td.appendChild(line);
      }
    } else if (g.key === "reasons") {
      var ol = el("ol");
      v.forEach(function (t) { if (t !== null && t !== "") ol.appendChild(el("li", t)); });
      td.appendChild(ol);
    } else if (g.key === "lead") {
      if (v[0] !== null) td.appendChild(el("strong", v[0]));
      if (v[1] !== null && v[1] !== "") td.appendChild(el("div", v[1], "why"));
    } else if (g.cols.length === 1 && g.cols[0] === SCORE) {
      td.textContent = pct(v[0]);
      td.className += " score";
    } else if (g.cols.length === 1 && g.cols[0] === PID) {
      td.textContent = v[0].slice(0, 12) + "\u2026";
      td.title = v[0];
      td.className += " pid";
    } else if (g.cols.length === 1 && g.cols[0] === TIER) {
      td.appendChild(el("span", v[0], "tier " + String(v[0]).replace(" ", "-")));
    } else {
      td.textContent = v.filter(function (t) { return t !== null; }).join(" ");
    }
  }
  function render() {
    var q = search.value.trim().toLowerCase();
    var rows = [];
    for (var i = 0; i < data.length; i++) {
      if (!q || haystack[i].indexOf(q) !== -1) rows.push(data[i]);
    }
    rows.sort(cmp);
    var size = Number(pageSize.value);
    var pages = Math.max(1, Math.ceil(rows.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var from = printing ? 0 : page * size;
    var to = printing ? rows.length : Math.min(rows.length, from + size);
    var frag = document.createDocumentFragment();
    rows.slice(from, to).forEach(function (r) {
      var tr = document.createElement("tr");
      groups.forEach(function (g) {
        var td = el("td", null, "g-" + g.key);
        fill(td, g, r);
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    shown.textContent = rows.length === data.length
      ? "showing " + (rows.length ? from + 1 : 0) + "\u2013" + to + " of " + data.length
      : "showing " + (rows.length ? from + 1 : 0) + "\u2013" + to + " of " + rows.length +
        " found (of " + data.length + ")";
    pageAt.textContent = "Page " + (page + 1) + " of " + pages;
    nav.first.disabled = nav.prev.disabled = page === 0;
    nav.next.disabled = nav.last.disabled = page >= pages - 1;
  }
  function go(to) {
    return function () { page = to(); render(); };
  }
  nav.first.addEventListener("click", go(function () { return 0; }));
  nav.prev.addEventListener("click", go(function () { return page - 1; }));
  nav.next.addEventListener("click", go(function () { return page + 1; }));
  nav.last.addEventListener("click", go(function () { return Infinity; }));
  pageSize.addEventListener("change", go(function () { return 0; }));
  heads.forEach(function (th, i) {
    th.querySelector("button").addEventListener("click", function () {
      var first = groups[i].cols[0];
      sortDir = sortGroup === i ? -sortDir : (first === SCORE ? -1 : 1);
      sortGroup = i;
      page = 0;
      heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      render();
    });
  });
  heads[0].setAttribute("aria-sort", "ascending");
  search.addEventListener("input", function () { page = 0; render(); });
  // a printed page shows every household found, not the page on screen
  window.addEventListener("beforeprint", function () { printing = true; render(); });
  window.addEventListener("afterprint", function () { printing = false; render(); });
  render();
})();
