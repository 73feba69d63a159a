// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("faultline-theme"); } catch (e) { /* storage off */ }
  if (saved === "dark" || saved === "light") root.setAttribute("data-theme", saved);

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var dark = root.getAttribute("data-theme") === "dark" ||
          (!root.getAttribute("data-theme") && window.matchMedia("(prefers-color-scheme: dark)").matches);
        var next = dark ? "light" : "dark";
        root.setAttribute("data-theme", next);
        try { localStorage.setItem("faultline-theme", next); } catch (e) { /* storage off */ }
      });
    }

    // The stream's "select all" box ticks every row's box.
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
      });
    }

    // Query examples fill the query box when clicked.
    document.querySelectorAll("[data-example]").forEach(function (el) {
      el.addEventListener("click", function () {
        var box = document.querySelector("input.query");
        if (box) { box.value = el.getAttribute("data-example"); box.focus(); }
      });
    });

    // Field-name suggestions for the word being typed: the datalist's
    // options become "everything before it" + "field:", so the browser's
    // own suggestion list completes the last word of a longer query.
    document.querySelectorAll("input.query[list]").forEach(function (box) {
      var list = document.getElementById(box.getAttribute("list"));
      if (!list) return;
      var fields = Array.prototype.map.call(list.options, function (o) {
        return { value: o.value, label: o.textContent };
      });
      box.addEventListener("input", function () {
        var text = box.value;
        var cut = Math.max(text.lastIndexOf(" "), text.lastIndexOf("(")) + 1;
        var head = text.slice(0, cut), word = text.slice(cut).replace(/^-/, "");
        var minus = text.slice(cut).charAt(0) === "-" ? "-" : "";
        list.textContent = "";
        fields.forEach(function (f) {
          if (word.indexOf(":") !== -1 || f.value.indexOf(word) !== 0) return;
          var option = document.createElement("option");
          option.value = head + minus + f.value;
          option.textContent = f.label;
          list.appendChild(option);
        });
      });
    });

    // Filters that are select boxes apply at once.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { if (el.form) el.form.submit(); });
    });

    // Destructive buttons ask first.
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  });
})();
