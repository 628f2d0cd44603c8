/* gridplan plan editor: select units, move them between communities, live check, undo/redo,
   save as a new plan. Talks only to its own server (POST /plans/{id}/edits). */
(function () {
  "use strict";
  var body = document.body;
  var ROOT = body.dataset.root || "";
  var PLAN = parseInt(body.dataset.plan, 10);
  var E = (window.gridplanEditor = { ready: false, busy: false, checks: 0, errors: [], last: null, saved: null });
  window.addEventListener("error", function (ev) { E.errors.push(String(ev.message)); });

  var $ = function (id) { return document.getElementById(id); };
  var data = null, map = null, layers = [], centres = [];
  var base = [], current = [];           // community id of each unit: base plan, after the moves
  var undoStack = [], redoStack = [];    // batches {units: [i], to: id, fresh: bool}
  var selected = new Set();
  var info = {};                         // community id -> {name, code, colour}
  var byUnitId = {};
  var labels = {};
  var seq = 0, boxMode = false, suppressClick = false;
  var fmt = function (v) { return v == null ? "–" : Math.round(v).toLocaleString("en-US"); };
  var esc = function (s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); };

  function showError(text) { var el = $("error"); el.textContent = text; el.hidden = !text; }

  fetch(ROOT + "/plans/" + PLAN + "/edit/data").then(function (r) {
    if (!r.ok) { return r.json().then(function (b) { throw new Error(b.description || r.statusText); }); }
    return r.json();
  }).then(init).catch(function (err) { $("loading").textContent = "Cannot load the plan: " + err.message; showError(err.message); });

  function init(d) {
    data = d;
    d.communities.forEach(function (c) { info[c.id] = { name: c.name, code: c.code, colour: c.colour }; });
    base = d.units.community.slice();
    current = base.slice();
    d.units.id.forEach(function (u, i) { byUnitId[u] = i; });
    if (d.plan.band) { $("band").textContent = "band " + fmt(d.plan.band[0]) + "–" + fmt(d.plan.band[1]) + " " + d.plan.measure; }
    map = L.map("map", { preferCanvas: true, boxZoom: false, zoomSnap: 0.25, attributionControl: false });
    var renderer = L.canvas({ padding: 0.5, tolerance: 1 });
    var features = d.units.geometry.map(function (g, i) { return { type: "Feature", geometry: g, properties: { i: i } }; });
    var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      renderer: renderer,
      style: function (f) { return styleOf(f.properties.i); },
      onEachFeature: function (f, l) { layers[f.properties.i] = l; }
    }).addTo(map);
    layer.on("click", function (e) {
      if (suppressClick) { return; }
      var i = e.layer.feature.properties.i;
      var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey || e.originalEvent.metaKey);
      clickUnit(i, add);
    });
    var b = d.plan.bounds;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10], animate: false });
    centres = d.units.point.map(function (p) { return L.latLng(p[1], p[0]); });
    installBox();
    installKeys();
    $("loading").hidden = true;
    $("move").onclick = moveSelection;
    $("target").onchange = function () { $("new-name").hidden = $("target").value !== "__new__"; updateMoveButton(); };
    $("new-name").oninput = updateMoveButton;
    $("undo").onclick = undo;
    $("redo").onclick = redo;
    $("clear").onclick = function () { setSelection([]); };
    $("tool-box").onclick = function () { boxMode = !boxMode; $("tool-box").classList.toggle("active", boxMode); };
    $("save").onclick = function () { save(false); };
    $("force").onclick = function () { save(true); };
    $("token").value = sessionStorage.getItem("gridplan-token") || "";
    E.ready = true;
    check();
  }

  // -- drawing ------------------------------------------------------------------------------
  function colourOf(c) { return c != null && info[c] ? info[c].colour : "#dddddd"; }
  function styleOf(i) {
    var sel = selected.has(i);
    var moved = current[i] !== base[i];
    return {
      fillColor: colourOf(current[i]), fillOpacity: sel ? 0.9 : 0.72,
      color: sel ? "#111111" : (moved ? "#5a3d00" : "#ffffff"),
      weight: sel ? 2.5 : (moved ? 1.6 : 0.6), opacity: 1
    };
  }
  function restyle(indices) { indices.forEach(function (i) { layers[i].setStyle(styleOf(i)); }); }
  function restyleAll() { for (var i = 0; i < layers.length; i++) { layers[i].setStyle(styleOf(i)); } }

  function drawLabels(communities) {
    var sums = {};
    for (var i = 0; i < current.length; i++) {
      var c = current[i]; if (c == null) { continue; }
      var s = sums[c] || (sums[c] = { lat: 0, lng: 0, n: 0 });
      s.lat += centres[i].lat; s.lng += centres[i].lng; s.n += 1;
    }
    Object.keys(labels).forEach(function (c) { if (!sums[c]) { map.removeLayer(labels[c]); delete labels[c]; } });
    communities.forEach(function (row) {
      var s = sums[row.id]; if (!s) { return; }
      var at = L.latLng(s.lat / s.n, s.lng / s.n);
      var html = '<span class="gp-label' + (row.changed ? " changed" : "") + '">' + esc(row.name) +
        "<br>" + fmt(row.households) + "户 " + badge(row, true) + "</span>";
      var icon = L.divIcon({ className: "gp-label-icon", html: html, iconSize: null });
      if (labels[row.id]) { labels[row.id].setLatLng(at).setIcon(icon); }
      else { labels[row.id] = L.marker(at, { icon: icon, interactive: false, keyboard: false }).addTo(map); }
    });
  }

  // -- selection -------------------------------------------------------------------------------
  function clickUnit(i, add) {
    if (add) {
      var next = new Set(selected);
      if (next.has(i)) { next.delete(i); } else { next.add(i); }
      setSelection(Array.from(next));
    } else if (selected.size === 1 && selected.has(i)) {
      setSelection([]);
    } else {
      setSelection([i]);
    }
  }
  function setSelection(indices) {
    var before = Array.from(selected);
    selected = new Set(indices);
    restyle(before.concat(indices));
    indices.forEach(function (i) { layers[i].bringToFront(); });
    describeSelection();
  }
  function installBox() {
    var start = null, rect = null, startPoint = null;
    map.on("mousedown", function (e) {
      if (!(boxMode || (e.originalEvent && e.originalEvent.shiftKey))) { return; }
      start = e.latlng; startPoint = e.containerPoint;
      map.dragging.disable();
      rect = L.rectangle(L.latLngBounds(start, start), { color: "#1565c0", weight: 1.5, dashArray: "4 3", fillOpacity: 0.08, interactive: false }).addTo(map);
    });
    map.on("mousemove", function (e) { if (rect) { rect.setBounds(L.latLngBounds(start, e.latlng)); } });
    map.on("mouseup", function (e) {
      if (!rect) { return; }
      var bounds = L.latLngBounds(start, e.latlng);
      var moved = startPoint.distanceTo(e.containerPoint) > 4;
      map.removeLayer(rect); rect = null;
      map.dragging.enable();
      if (!moved) { return; }
      suppressClick = true; setTimeout(function () { suppressClick = false; }, 0);
      var add = e.originalEvent && e.originalEvent.shiftKey;
      var picked = add ? Array.from(selected) : [];
      for (var i = 0; i < centres.length; i++) { if (bounds.contains(centres[i]) && picked.indexOf(i) < 0) { picked.push(i); } }
      setSelection(picked);
    });
  }
  function installKeys() {
    document.addEventListener("keydown", function (e) {
      if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "SELECT")) { return; }
      var key = e.key.toLowerCase();
      if ((e.ctrlKey || e.metaKey) && key === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if ((e.ctrlKey || e.metaKey) && (key === "y" || (key === "z" && e.shiftKey))) { e.preventDefault(); redo(); }
      else if (key === "escape") { setSelection([]); }
    });
  }

  function neighbourCommunities(indices) {
    var own = new Set(indices.map(function (i) { return current[i]; }));
    var seen = {};
    indices.forEach(function (i) {
      data.units.neighbours[i].forEach(function (j) {
        var c = current[j];
        if (c != null && !own.has(c) && !selected.has(j)) { seen[c] = (seen[c] || 0) + 1; }
      });
    });
    return Object.keys(seen).sort(function (a, b) { return seen[b] - seen[a]; });
  }
  function label(c) { var x = info[c]; return x ? x.name + (x.code && x.code !== x.name ? " (" + x.code + ")" : "") : c; }

  function describeSelection() {
    var indices = Array.from(selected);
    var target = $("target");
    target.innerHTML = "";
    if (!indices.length) {
      $("selection").textContent = "Click a unit to select it; Shift-click adds or removes one; Shift-drag or ▭ selects a box.";
      target.disabled = true; $("new-name").hidden = true; updateMoveButton();
      return;
    }
    var hh = 0, from = {};
    indices.forEach(function (i) { hh += data.units.households[i] || 0; from[current[i]] = true; });
    var fromNames = Object.keys(from).map(label).join(", ");
    $("selection").innerHTML = "<b>" + indices.length + "</b> unit" + (indices.length > 1 ? "s" : "") +
      " selected, <b>" + fmt(hh) + "</b> households, in " + esc(fromNames) +
      (indices.length === 1 ? ' <span class="muted">(' + esc(data.units.id[indices[0]]) + ")</span>" : "");
    var near = neighbourCommunities(indices);
    var group = document.createElement("optgroup"); group.label = "Neighbouring communities";
    near.forEach(function (c) { var o = new Option(label(c), c); group.appendChild(o); });
    if (near.length) { target.appendChild(group); }
    var others = Object.keys(info).filter(function (c) { return near.indexOf(c) < 0 && !from[c] && current.indexOf(c) >= 0; });
    others.sort(function (a, b) { return label(a).localeCompare(label(b), "zh"); });
    if (others.length) {
      var g2 = document.createElement("optgroup"); g2.label = "Other communities";
      others.forEach(function (c) { g2.appendChild(new Option(label(c), c)); });
      target.appendChild(g2);
    }
    target.appendChild(new Option("＋ New community…", "__new__"));
    target.disabled = false;
    $("new-name").hidden = target.value !== "__new__";
    updateMoveButton();
  }
  function updateMoveButton() {
    var ok = selected.size > 0 && !$("target").disabled;
    if (ok && $("target").value === "__new__") { ok = $("new-name").value.trim().length > 0; }
    $("move").disabled = !ok;
  }

  // -- moves, undo, redo -----------------------------------------------------------------------
  function moveSelection() {
    var to = $("target").value, fresh = false;
    if (to === "__new__") {
      var name = $("new-name").value.trim();
      var clash = Object.keys(info).filter(function (c) { return c === name || info[c].name === name || info[c].code === name; });
      if (clash.length && current.indexOf(clash[0]) >= 0) { showError("“" + name + "” is already a community: pick it in the list"); return; }
      to = name; fresh = !info[name];
      if (fresh) { info[name] = { name: name, code: null, colour: freshColour(Array.from(selected)) }; }
      $("new-name").value = "";
    }
    showError("");
    var batch = { units: Array.from(selected).filter(function (i) { return current[i] !== to; }), to: to, fresh: fresh };
    if (!batch.units.length) { return; }
    undoStack.push(batch); redoStack = [];
    apply();
  }
  function freshColour(indices) {
    // a colour no community has yet, else one none of the units' neighbours has
    var taken = {}, near = {};
    Object.keys(info).forEach(function (c) { if (current.indexOf(c) >= 0) { taken[info[c].colour] = true; } });
    indices.forEach(function (i) { data.units.neighbours[i].forEach(function (j) { near[colourOf(current[j])] = true; }); near[colourOf(current[i])] = true; });
    var unused = data.palette.filter(function (c) { return !taken[c]; });
    if (unused.length) { return unused[0]; }
    var free = data.palette.filter(function (c) { return !near[c]; });
    return free.length ? free[0] : data.palette[Object.keys(info).length % data.palette.length];
  }
  function recompute() {
    var before = current;
    current = base.slice();
    undoStack.forEach(function (b) { b.units.forEach(function (i) { current[i] = b.to; }); });
    var changed = [];
    for (var i = 0; i < current.length; i++) { if (current[i] !== before[i]) { changed.push(i); } }
    return changed;
  }
  function apply() {
    var changed = recompute();
    restyle(changed.concat(Array.from(selected)));
    $("undo").disabled = !undoStack.length;
    $("redo").disabled = !redoStack.length;
    describeSelection();
    check();
  }
  function undo() { if (!undoStack.length) { return; } redoStack.push(undoStack.pop()); apply(); }
  function redo() { if (!redoStack.length) { return; } undoStack.push(redoStack.pop()); apply(); }
  function moves() {
    var out = [];
    undoStack.forEach(function (b) {
      var existing = base.indexOf(b.to) >= 0;
      b.units.forEach(function (i) { out.push({ unit: data.units.id[i], to: b.to, "new": existing ? false : null }); });
    });
    return out;
  }

  // -- the live check ---------------------------------------------------------------------------
  function check() {
    var mine = ++seq;
    E.busy = true;
    $("status").textContent = "checking…";
    fetch(ROOT + "/plans/" + PLAN + "/edits", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ moves: moves() })
    }).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }
        E.busy = false;
        if (!res.ok) { showError(res.body.description || "the check failed"); $("status").textContent = "check failed"; return; }
        showError("");
        E.last = res.body; E.checks += 1;
        render(res.body);
      }).catch(function (err) { if (mine === seq) { E.busy = false; showError(String(err)); } });
  }
  function badge(row, short) {
    if (row.in_band === true) { return '<span class="ok">✓' + (short ? "" : " in band") + "</span>"; }
    if (row.in_band === false) {
      var lo = E.last && E.last.band ? E.last.band[0] : 0;
      var value = E.last && E.last.measure === "residents" ? row.residents : row.households;
      return value < lo ? '<span class="bad">↓' + (short ? "" : " under") + "</span>" : '<span class="bad">↑' + (short ? "" : " over") + "</span>";
    }
    return '<span class="muted">?</span>';
  }
  function render(doc) {
    var movedText = doc.moved.units ? doc.moved.units + " units (" + fmt(doc.moved.households) + " households) moved" : "no change yet";
    $("status").textContent = movedText + " · checked in " + doc.check_ms.toFixed(0) + " ms" + (doc.incremental ? "" : " (full)");
    var stale = $("stale");
    stale.hidden = !doc.stale;
    stale.textContent = doc.stale ? "⚠ " + doc.message : "";
    doc.communities.forEach(function (row) {
      if (!info[row.id]) { info[row.id] = { name: row.name, code: row.code, colour: freshColour([]) }; }
      info[row.id].code = row.code;
    });
    var tbody = $("communities").querySelector("tbody");
    tbody.innerHTML = doc.communities.map(function (row) {
      var parts = row.parts > 1 ? '<span class="warn">' + row.parts + " parts</span>" : "1";
      if (row.embedded) { parts += ' <span class="warn">enclave</span>'; }
      return '<tr data-id="' + esc(row.id) + '" class="' + (row.changed ? "changed" : "") + '">' +
        '<td><span class="swatch" style="background:' + esc(colourOf(row.id)) + '"></span></td>' +
        "<td>" + esc(row.name) + (row.code ? ' <span class="code">' + esc(row.code) + "</span>" : "") + (row["new"] ? ' <span class="warn">new</span>' : "") + "</td>" +
        '<td class="num households">' + fmt(row.households) + "</td><td>" + badge(row, false) + "</td><td>" + parts + "</td>" +
        '<td class="num">' + row.findings + "</td></tr>";
    }).join("");
    Array.prototype.forEach.call(tbody.querySelectorAll("tr"), function (tr) {
      tr.onclick = function () { zoomTo(tr.dataset.id); };
    });
    var gbody = $("grids").querySelector("tbody");
    $("grid-count").textContent = "(" + doc.grids.length + ")";
    gbody.innerHTML = doc.grids.length ? doc.grids.map(function (g) {
      var ok = g.in_band === true ? '<span class="ok">✓</span>' : g.in_band === false ? '<span class="bad">✗</span>' : '<span class="muted">–</span>';
      return "<tr><td>" + esc(g.code || g.id) + (g.status !== "changed" ? ' <span class="warn">' + g.status + "</span>" : "") + "</td><td>" + esc(g.community ? label(g.community) : "") +
        '</td><td class="num">' + fmt(g.households_before) + '</td><td class="num">' + fmt(g.households_after) + "</td><td>" + ok + "</td></tr>";
    }).join("") : '<tr><td colspan="5" class="muted">none</td></tr>';
    $("finding-count").textContent = "(" + doc.findings.length + ")";
    $("findings").innerHTML = doc.findings.map(function (f) {
      return '<li class="' + esc(f.severity) + '"><span class="rule">' + esc(f.rule) + "</span>" + esc(f.message) + "</li>";
    }).join("");
    $("save").disabled = !doc.moved.units;
    drawLabels(doc.communities);
  }
  function zoomTo(c) {
    var bounds = null;
    for (var i = 0; i < current.length; i++) {
      if (current[i] === c) { bounds = bounds ? bounds.extend(layers[i].getBounds()) : L.latLngBounds(layers[i].getBounds().getSouthWest(), layers[i].getBounds().getNorthEast()); }
    }
    if (bounds) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 }); }
  }

  // -- saving ------------------------------------------------------------------------------------
  function save(force) {
    var token = $("token").value.trim();
    if (!token) { $("saved").innerHTML = '<span class="bad">Type the API token to save.</span>'; $("token").focus(); return; }
    sessionStorage.setItem("gridplan-token", token);
    var name = $("plan-name").value.trim();
    var doc = { moves: moves() };
    if (name) { doc.name = name; }
    $("save").disabled = true;
    $("saved").textContent = "saving…";
    fetch(ROOT + "/plans/" + PLAN + "/edits?save=true" + (force ? "&force=true" : ""), {
      method: "POST", headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(doc)
    }).then(function (r) { return r.json().then(function (b) { return { status: r.status, body: b }; }); })
      .then(function (res) {
        $("save").disabled = false;
        $("force").hidden = true;
        if (res.status === 201) {
          E.saved = res.body;
          $("saved").innerHTML = '<span class="ok">Saved as plan ' + res.body.plan_id + " (parent " + res.body.parent + ').</span> <a href="' +
            ROOT + "/plans/" + res.body.plan_id + '/edit">Edit it</a> · <a href="' + ROOT + "/plans/" + res.body.plan_id + '/map">Map</a>';
        } else if (res.status === 409) {
          $("saved").innerHTML = '<span class="warn">' + esc(res.body.description) + "</span>";
          $("force").hidden = false;
        } else if (res.status === 401) {
          $("saved").innerHTML = '<span class="bad">The token was refused: ' + esc(res.body.description) + "</span>";
        } else {
          $("saved").innerHTML = '<span class="bad">' + esc(res.body.description || ("error " + res.status)) + "</span>";
        }
      }).catch(function (err) { $("save").disabled = false; $("saved").textContent = String(err); });
  }

  // hooks for scripts and tests
  E.selectUnits = function (ids, add) {
    var picked = add ? Array.from(selected) : [];
    ids.forEach(function (u) { if (byUnitId[u] != null) { picked.push(byUnitId[u]); } });
    setSelection(picked);
  };
  E.unitPoint = function (u) { var p = map.latLngToContainerPoint(centres[byUnitId[u]]); return [p.x, p.y]; };
  E.community = function (u) { return current[byUnitId[u]]; };
  E.state = function () { return { undo: undoStack.length, redo: redoStack.length, moves: moves().length, selected: selected.size }; };
  E.map = function () { return map; };
})();
