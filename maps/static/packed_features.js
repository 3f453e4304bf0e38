/* Unpacks a layer packed by maps/packed_layer.py into GeoJSON features, for L.geoJson.
   LocationsPacked.borders(payload) -> [Feature] for a map's context, see borders below;
   LocationsPacked.features(payload) -> [Feature]: payload.ids (each id as its step from the
   one before), payload.outlines (points as zigzag varints of steps in 1 / scale degree, the
   closing point of each ring left out; counts of points per ring, rings per polygon and
   polygons per feature), payload.properties (name -> column) and payload.facts (a list of
   columns, each feature's facts in order); payload.link ([before, after] its id) and
   payload.name ({prefix, property}) give each feature its link and its name. A column is {all: value}, {values, index} or
   {texts, suffix}; see pack_texts. Nothing here reads any text as HTML. */
(function (global) {
  "use strict";

  function counts(column, n) {
    if (Array.isArray(column)) { return column; }
    var out = new Array(n);
    for (var i = 0; i < n; i++) { out[i] = column; }
    return out;
  }

  function texts(column, n) {
    var out = new Array(n), i;
    if ("all" in column) {
      for (i = 0; i < n; i++) { out[i] = column.all; }
    } else if ("index" in column) {
      for (i = 0; i < n; i++) { out[i] = column.values[column.index[i]]; }
    } else {
      var suffix = column.suffix || "";
      for (i = 0; i < n; i++) {
        var text = column.texts[i];
        out[i] = text === "\u2013" ? text : text + suffix;
      }
    }
    return out;
  }

  /* The steps of the points, in order: each a zigzag varint of 5-bit groups, lowest first,
     0x20 marking that another follows, plus 63. Values stay well within 32 bits (a whole
     turn of longitude in millionths is 3.6e8). */
  function steps(encoded) {
    var out = [], value = 0, shift = 0;
    for (var i = 0; i < encoded.length; i++) {
      var group = encoded.charCodeAt(i) - 63;
      value |= (group & 0x1f) << shift;
      if (group & 0x20) { shift += 5; continue; }
      out.push(value & 1 ? ~(value >> 1) : value >> 1);
      value = 0;
      shift = 0;
    }
    return out;
  }

  function outlines(packed, n) {
    var step = steps(packed.points), scale = packed.scale;
    var perFeature = counts(packed.features, n);
    var polygonCount = 0, f;
    for (f = 0; f < n; f++) { polygonCount += perFeature[f]; }
    var perPolygon = counts(packed.polygons, polygonCount);
    var ringCount = 0;
    for (f = 0; f < polygonCount; f++) { ringCount += perPolygon[f]; }
    var perRing = counts(packed.rings, ringCount);
    var x = 0, y = 0, s = 0, polygon = 0, ring = 0, out = new Array(n);
    for (f = 0; f < n; f++) {
      var polygons = [];
      for (var p = 0; p < perFeature[f]; p++, polygon++) {
        var rings = [];
        for (var r = 0; r < perPolygon[polygon]; r++, ring++) {
          var points = [];
          for (var k = 0; k < perRing[ring]; k++) {
            x += step[s++];
            y += step[s++];
            points.push([x / scale, y / scale]);
          }
          points.push(points[0].slice());  // GeoJSON closes each ring
          rings.push(points);
        }
        polygons.push(rings);
      }
      out[f] = {type: "MultiPolygon", coordinates: polygons};
    }
    return out;
  }

  function features(payload) {
    var n = payload.ids.length, ids = new Array(n), id = 0, i;
    for (i = 0; i < n; i++) { id += payload.ids[i]; ids[i] = id; }
    var geometries = outlines(payload.outlines, n);
    var columns = {};
    Object.keys(payload.properties).forEach(function (name) {
      columns[name] = texts(payload.properties[name], n);
    });
    var facts = payload.facts.map(function (column) { return texts(column, n); });
    var link = payload.link;
    var out = new Array(n);
    for (i = 0; i < n; i++) {
      var properties = {id: ids[i]};
      for (var name in columns) { properties[name] = columns[name][i]; }
      properties.facts = facts.map(function (column) { return column[i]; });
      if (link) { properties.link = link[0] + ids[i] + link[1]; }
      if (payload.name) {
        properties.name = payload.name.prefix + properties[payload.name.property];
      }
      out[i] = {type: "Feature", id: ids[i], geometry: geometries[i], properties: properties};
    }
    return out;
  }

  /* Borders drawn around a map's data (maps/context.py): payload.ids (steps, as above),
     payload.names (a column) and payload.outlines; each feature's properties are its id and
     name. */
  function borders(payload) {
    var n = payload.ids.length, geometries = outlines(payload.outlines, n);
    var names = texts(payload.names, n), out = new Array(n), id = 0;
    for (var i = 0; i < n; i++) {
      id += payload.ids[i];
      out[i] = {type: "Feature", id: id, geometry: geometries[i],
                properties: {id: id, name: names[i]}};
    }
    return out;
  }

  global.LocationsPacked = {features: features, borders: borders};
})(window);
