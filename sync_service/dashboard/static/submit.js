// The submit form's print rows. Each row reads its chosen design in the browser, before
// anything is uploaded, and says its pixel size and how sharp it prints at its placement and
// scale: the rule of shared/prints.py (the design scaled to fit the placement's area keeping its
// aspect ratio, times the scale; below data-min-dpi it prints blurry, from data-ideal-dpi it is
// sharp). "Add another print" copies the first row (the form posts one without this script);
// the template picker leaves each placement list to the presets that template supports.
"use strict";

(function () {
  var NEW_ROW = {offset_x_cm: "0", offset_y_cm: "0", scale: "1", rotation_deg: "0"};

  function resolution(size, option, scale) {
    var widthIn = parseFloat(option.dataset.widthIn);
    var heightIn = parseFloat(option.dataset.heightIn);
    return Math.max(size.width / widthIn, size.height / heightIn) / scale;
  }

  function describe(form, size, option, scale) {
    var dpi = resolution(size, option, scale);
    var minimum = parseFloat(form.dataset.minDpi);
    var ideal = parseFloat(form.dataset.idealDpi);
    var text = size.width + " × " + size.height + " px: " + Math.round(dpi) + " DPI at " +
      option.textContent.trim() + (scale === 1 ? "" : " scaled " + scale) + ". ";
    if (dpi < minimum) {
      return {level: "warning", text: text + "It will print blurry: " + minimum +
        " DPI is the minimum, " + ideal + " ideal."};
    }
    if (dpi < ideal) {
      return {level: "note", text: text + "Acceptable; " + ideal + " DPI would print sharp."};
    }
    return {level: "ok", text: text + "Prints sharp."};
  }

  function part(row, selector) {
    return row.querySelector(selector);
  }

  function update(form, row) {
    if (!row.designSize) {
      return;
    }
    var preset = part(row, ".preset");
    var scale = parseFloat(part(row, ".scale").value);
    var result = describe(form, row.designSize, preset.options[preset.selectedIndex],
                          scale > 0 ? scale : 1);
    var facts = part(row, ".design-facts");
    facts.textContent = result.text;
    facts.className = "design-facts " + result.level;
  }

  function say(row, level, text) {
    var facts = part(row, ".design-facts");
    facts.textContent = text;
    facts.className = "design-facts " + level;
  }

  function readDesign(form, row) {
    var input = part(row, ".design-file");
    var preview = part(row, ".design-image");
    var file = input.files[0];
    row.designSize = null;
    preview.hidden = true;
    if (!file) {
      return;
    }
    if (file.type !== "image/png" && file.type !== "image/jpeg") {
      say(row, "warning", "This is not a PNG or JPEG file; the service will refuse it.");
      return;
    }
    var image = new Image();
    image.onload = function () {
      row.designSize = {width: image.naturalWidth, height: image.naturalHeight};
      preview.src = image.src;
      preview.hidden = false;
      update(form, row);
    };
    image.onerror = function () {
      say(row, "warning", "The browser cannot read this image; it may be damaged.");
    };
    image.src = URL.createObjectURL(file);
  }

  function rows(form) {
    return Array.prototype.slice.call(form.querySelectorAll(".print-row"));
  }

  function renumber(form) {
    var all = rows(form);
    all.forEach(function (row, index) {
      part(row, ".print-title").textContent = "Print " + (index + 1);
      part(row, ".remove-print").hidden = all.length === 1;
    });
    var max = parseInt(form.querySelector("#prints").dataset.max, 10);
    form.querySelector("#add-print").disabled = all.length >= max;
  }

  // The template's presets (none listed: it supports every one); a placement it does not
  // support cannot be chosen, and a row left on one moves to the first it does.
  function limitPlacements(form) {
    var template = form.querySelector("#template");
    var chosen = template.options[template.selectedIndex];
    var words = chosen ? chosen.dataset.presets.split(" ").filter(Boolean) : [];
    form.querySelectorAll(".preset").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) {
        var off = words.length > 0 && words.indexOf(option.value) < 0;
        option.disabled = off;
        option.hidden = off;
      });
      if (select.options[select.selectedIndex].disabled) {
        var first = Array.prototype.find.call(select.options, function (o) { return !o.disabled; });
        if (first) {
          select.value = first.value;
        }
      }
    });
  }

  // A new row starts at a placement no other row has taken, centred, full size, upright.
  function addRow(form) {
    var all = rows(form);
    var row = all[0].cloneNode(true);
    row.designSize = null;
    part(row, ".design-file").value = "";
    part(row, ".design-image").hidden = true;
    part(row, ".design-image").removeAttribute("src");
    say(row, "muted", form.dataset.factsHint);
    Object.keys(NEW_ROW).forEach(function (name) {
      row.querySelector("[name=" + name + "]").value = NEW_ROW[name];
    });
    var taken = all.map(function (other) { return part(other, ".preset").value; });
    var select = part(row, ".preset");
    var free = Array.prototype.find.call(select.options, function (option) {
      return !option.disabled && taken.indexOf(option.value) < 0;
    });
    if (free) {
      select.value = free.value;
    }
    all[all.length - 1].after(row);
    renumber(form);
    part(row, ".design-file").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("submit");
    var add = document.getElementById("add-print");
    form.dataset.factsHint = part(form, ".design-facts").textContent;
    form.addEventListener("change", function (event) {
      var row = event.target.closest(".print-row");
      if (event.target.id === "template") {
        limitPlacements(form);
        rows(form).forEach(function (each) { update(form, each); });
      } else if (row && event.target.classList.contains("design-file")) {
        readDesign(form, row);
      } else if (row) {
        update(form, row);
      }
    });
    form.addEventListener("input", function (event) {
      var row = event.target.closest(".print-row");
      if (row && event.target.classList.contains("scale")) {
        update(form, row);
      }
    });
    form.addEventListener("click", function (event) {
      if (event.target.classList.contains("remove-print")) {
        event.target.closest(".print-row").remove();
        renumber(form);
      }
    });
    add.addEventListener("click", function () { addRow(form); });
    add.hidden = false;
    limitPlacements(form);
    renumber(form);
  });
})();
