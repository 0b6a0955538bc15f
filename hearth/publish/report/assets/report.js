(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("top-data").textContent);
  var table = document.getElementById("top-table");
  var tbody = table.querySelector("tbody");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var heads = table.querySelectorAll("thead th");
  // where the score, the tier and the pseudonym are, and the tiers in risk order, from the page
  var SCORE = Number(table.dataset.scoreCol), TIER = Number(table.dataset.tierCol);
  var PID = Number(table.dataset.pidCol);
  var tierRank = {};
  table.dataset.tierOrder.split("|").forEach(function (t, i) { tierRank[t] = i; });
  var sortCol = 0, sortDir = 1;
  function pct(v) { return (v * 100).toFixed(1) + "%"; }
  // what a search looks through: the cells as shown (the score as a percentage)
  var haystack = data.map(function (r) {
    return r.map(function (v, c) {
      return v === null ? "" : c === SCORE ? pct(v) : String(v);
    }).join(" ").toLowerCase();
  });
  function cmp(a, b) {
    var x = a[sortCol], y = b[sortCol];
    if (x === y) return a[0] - b[0];
    if (x === null) return 1;
    if (y === null) return -1;
    if (sortCol === TIER && x in tierRank && y in tierRank) {
      return (tierRank[x] - tierRank[y]) * sortDir || a[0] - b[0];
    }
    if (typeof x === "number" && typeof y === "number") return (x - y) * sortDir;
    return String(x).localeCompare(String(y)) * sortDir;
  }
  function cell(tr, text, cls, title) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }
  function render() {
    var q = search.value.trim().toLowerCase();
    var rows = [];
    for (var i = 0; i < data.length; i++) {
      if (!q || haystack[i].indexOf(q) !== -1) rows.push(data[i]);
    }
    rows.sort(cmp);
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      for (var c = 0; c < r.length; c++) {
        var v = r[c];
        if (c === SCORE) cell(tr, pct(v), "score");
        else if (c === PID) cell(tr, v.slice(0, 12) + "\u2026", "pid", v);
        else if (c === TIER) {
          var td = cell(tr, "", "");
          var span = document.createElement("span");
          span.className = "tier " + String(v).replace(" ", "-");
          span.textContent = v;
          td.appendChild(span);
        } else cell(tr, v === null ? "" : String(v));
      }
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    shown.textContent = "showing " + rows.length + " of " + data.length;
  }
  heads.forEach(function (th, i) {
    th.querySelector("button").addEventListener("click", function () {
      sortDir = sortCol === i ? -sortDir : (i === SCORE ? -1 : 1);
      sortCol = i;
      heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      render();
    });
  });
  heads[0].setAttribute("aria-sort", "ascending");
  search.addEventListener("input", render);
  render();
})();
