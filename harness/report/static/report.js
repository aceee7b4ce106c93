/* harness report: table sorting, the device selector and CSV download.
   Hand-written and dependency-free; it never builds HTML from data (textContent
   and DOM moves only), so a device string can never become markup here. */
(function () {
  "use strict";

  function sortValue(cell, numeric) {
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var n = parseFloat(raw);
    return isNaN(n) ? null : n;
  }

  function sortTable(table, index) {
    var th = table.tHead.rows[0].cells[index];
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, i) {
      return { row: row, key: sortValue(row.cells[index], numeric), i: i };
    });
    keyed.sort(function (a, b) {
      // Missing values go last whichever the direction; ties keep their order.
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.i - b.i;
        return a.key === null ? 1 : -1;
      }
      var c = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (ascending ? c : -c) || a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortTable(table, index); });
    });
  });

  var select = document.getElementById("device-select");
  if (select) {
    select.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll("section.device"), function (s) {
        s.hidden = select.value !== "" && s.id !== select.value;
      });
    });
  }

  var dataNode = document.getElementById("trial-data");
  var data = dataNode ? JSON.parse(dataNode.textContent) : { columns: [], rows: [] };

  function csvField(value) {
    if (value === null || value === undefined) return "";
    var text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
    // A text cell starting with = + - @ would run as a spreadsheet formula.
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
    if (/[",\r\n]/.test(text)) text = '"' + text.replace(/"/g, '""') + '"';
    return text;
  }

  function csvFor(sectionKey) {
    var keyIndex = data.columns.indexOf("section");
    var lines = [data.columns.map(csvField).join(",")];
    data.rows.forEach(function (row) {
      if (sectionKey === "" || row[keyIndex] === sectionKey) lines.push(row.map(csvField).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.download"), function (button) {
    button.addEventListener("click", function () {
      var blob = new Blob([csvFor(button.getAttribute("data-section") || "")], { type: "text/csv" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = button.getAttribute("data-filename") || "trials.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 0);
    });
  });
})();
