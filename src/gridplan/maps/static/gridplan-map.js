/* gridplan map helpers (written for gridplan, BSD-3-Clause like the project).
 *
 * Needs Leaflet 1.9. Everything lives under window.gridplan:
 *   panes(map, specs)          ordered panes inside the overlay pane (fills under findings under
 *                              boundaries) and one non-interactive pane for labels;
 *   follow(map, leader, layer) show/hide `layer` with `leader` (a layer-control entry);
 *   labels(map, leader, items, options)
 *                              permanent text labels at points, shown from a minimum zoom and
 *                              only where they fit their area and do not overlap a label of
 *                              higher priority (earlier in the list, communities before grids);
 *   panel(map, layers)         clicking a row of a [data-bounds] table zooms the map to it and
 *                              flashes the area (looked up by data-area in the given layers);
 *   dock(control, id)          moves a control (the layer control) into the side panel.
 */
(function () {
    "use strict";
    var gp = window.gridplan = window.gridplan || {};
    var sets = [];  // label sets, in priority order

    gp.panes = function (map, specs) {
        var overlay = map.getPane("overlayPane");
        specs.forEach(function (spec) {
            var pane = map.createPane(spec[0], spec[2] === "top" ? undefined : overlay);
            pane.style.zIndex = String(spec[1]);
            if (spec[2] === "top") { pane.style.pointerEvents = "none"; }
        });
    };

    gp.follow = function (map, leader, layer) {
        leader.on("add", function () { map.addLayer(layer); });
        leader.on("remove", function () { map.removeLayer(layer); });
        if (map.hasLayer(leader)) { map.addLayer(layer); }
    };

    gp.labels = function (map, leader, items, options) {
        var group = L.layerGroup();
        var minZoom = options.minZoom;
        if (minZoom === null || minZoom === undefined) {
            // one zoom closer than the opening view
            // (the map opened on its extent, without animation, before any label set)
            minZoom = map.getZoom() + (options.zoomOffset || 0);
        }
        var set = {map: map, group: group, labels: [], minZoom: minZoom, fit: !!options.fit};
        items.forEach(function (it) {
            var icon = L.divIcon({
                className: "gp-label " + (options.className || ""),
                html: '<span class="gp-lt">' + it[2] + "</span>",
                iconSize: null
            });
            var marker = L.marker([it[0], it[1]], {
                icon: icon, interactive: false, keyboard: false, pane: "gp-labels"
            });
            marker.gpBox = it[3] || null;  // [south, west, north, east] of the labelled area
            marker.gpHome = L.latLng(it[0], it[1]);
            marker.gpAlts = it[4] || [];  // other places inside the area, tried in turn
            set.labels.push(marker);
            group.addLayer(marker);
        });
        sets.push(set);
        gp.follow(map, leader, group);
        group.on("add", function () { schedule(map); });
        group.on("remove", function () { schedule(map); });
        if (!map.gpDeclutter) {
            map.gpDeclutter = true;
            map.on("zoomend moveend resize", function () { schedule(map); });
            map.whenReady(function () { schedule(map); });
            if (document.fonts && document.fonts.ready) {
                document.fonts.ready.then(function () { schedule(map); });
            }
        }
        return group;
    };

    var pending = null;
    var settling = null;
    //: ms after a pass when it is made once more: a glyph drawn for the first time (the
    //: arrows, Chinese text) may come from a fallback font that loads after the first layout
    //: and changes the labels' sizes with no map event to say so
    var SETTLE_MS = 150;
    function schedule(map) {
        if (pending !== null) { return; }
        pending = window.setTimeout(function () {
            pending = null;
            declutter(map);
            if (settling !== null) { window.clearTimeout(settling); }
            settling = window.setTimeout(function () { settling = null; declutter(map); },
                SETTLE_MS);
        }, 0);
    }

    function overlaps(a, b) {
        return a.left < b.right + 2 && b.left < a.right + 2 && a.top < b.bottom + 1 &&
            b.top < a.bottom + 1;
    }

    function collides(r, placed) {
        for (var j = 0; j < placed.length; j++) {
            if (overlaps(r, placed[j])) { return true; }
        }
        return false;
    }

    function declutter(map) {
        var zoom = map.getZoom();
        var frame = map.getContainer().getBoundingClientRect();
        var shown = [];
        sets.forEach(function (set) {
            if (set.map !== map || !map.hasLayer(set.group)) { return; }
            set.labels.forEach(function (marker) {
                var el = marker.getElement();
                if (!el) { return; }
                var off = zoom < set.minZoom;
                el.classList.toggle("gp-off", off);
                if (marker.gpAlts.length && !marker.getLatLng().equals(marker.gpHome)) {
                    marker.setLatLng(marker.gpHome);
                }
                if (!off) { shown.push([set, marker, el]); }
            });
        });
        // read every box after all writes: one layout pass
        var boxes = shown.map(function (s) { return s[2].firstChild.getBoundingClientRect(); });
        var placed = [];
        shown.forEach(function (s, i) {
            var r = boxes[i];
            var hide = false;
            var visible = r.right > frame.left && r.left < frame.right &&
                r.bottom > frame.top && r.top < frame.bottom;
            if (s[0].fit && s[1].gpBox) {
                var b = s[1].gpBox;
                var sw = map.latLngToContainerPoint([b[0], b[1]]);
                var ne = map.latLngToContainerPoint([b[2], b[3]]);
                hide = Math.abs(ne.x - sw.x) < r.width * 0.9 || Math.abs(sw.y - ne.y) < r.height;
            }
            if (!hide && visible) {
                hide = collides(r, placed);
                // elsewhere inside its area, then (one layout pass per place tried)
                for (var k = 0; hide && k < s[1].gpAlts.length; k++) {
                    s[1].setLatLng(s[1].gpAlts[k]);
                    r = s[2].firstChild.getBoundingClientRect();
                    hide = collides(r, placed);
                }
                if (hide && s[1].gpAlts.length) { s[1].setLatLng(s[1].gpHome); }
            }
            // off screen: hidden until a move brings it in (and it is placed again)
            s[2].classList.toggle("gp-hidden", hide || !visible);
            if (!hide && visible) { placed.push(r); }
        });
    }
    gp.declutter = declutter;

    gp.panel = function (map, layers) {
        var index = {};
        layers.forEach(function (layer) {
            layer.eachLayer(function (l) {
                var p = l.feature && l.feature.properties;
                if (p && p.area_id !== undefined) { index[p.area_id] = [layer, l]; }
            });
        });
        var rows = document.querySelectorAll("#gridplan-panel [data-bounds]");
        Array.prototype.forEach.call(rows, function (row) {
            row.addEventListener("click", function () {
                var b = row.getAttribute("data-bounds").split(",").map(Number);
                map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {maxZoom: 18, padding: [30, 30]});
                Array.prototype.forEach.call(rows, function (r) {
                    r.classList.toggle("gp-selected", r === row);
                });
                var hit = index[row.getAttribute("data-area")];
                if (hit && hit[1].setStyle) {
                    hit[1].setStyle({weight: 6, fillOpacity: 0.8});
                    window.setTimeout(function () { hit[0].resetStyle(hit[1]); }, 1500);
                }
            });
        });
    };

    gp.dock = function (control, id) {
        var target = document.getElementById(id);
        if (target && control.getContainer()) { target.appendChild(control.getContainer()); }
    };
})();
