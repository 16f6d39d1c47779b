// The submit form reads the chosen design in the browser, before anything is uploaded, and
// says its pixel size and how sharp it prints at the chosen placement: the rule of
// shared/design_image.py (the design scaled to fit the print area keeping its aspect ratio;
// below data-min-dpi it prints blurry, from data-ideal-dpi it is sharp).
"use strict";

(function () {
  function resolution(size, option) {
    var widthIn = parseFloat(option.dataset.widthIn);
    var heightIn = parseFloat(option.dataset.heightIn);
    return Math.max(size.width / widthIn, size.height / heightIn);
  }

  function describe(form, size, option) {
    var dpi = resolution(size, option);
    var minimum = parseFloat(form.dataset.minDpi);
    var ideal = parseFloat(form.dataset.idealDpi);
    var text = size.width + " × " + size.height + " px: " + Math.round(dpi) + " DPI at " +
      option.textContent.trim() + ". ";
    if (dpi < minimum) {
      return {level: "warning", text: text + "It will print blurry: " + minimum +
        " DPI is the minimum, " + ideal + " ideal."};
    }
    if (dpi < ideal) {
      return {level: "note", text: text + "Acceptable; " + ideal + " DPI would print sharp."};
    }
    return {level: "ok", text: text + "Prints sharp."};
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("submit");
    var input = document.getElementById("design");
    var preset = document.getElementById("preset");
    var facts = document.getElementById("design-facts");
    var preview = document.getElementById("design-preview");
    var size = null;

    function update() {
      if (!size) {
        return;
      }
      var result = describe(form, size, preset.options[preset.selectedIndex]);
      facts.textContent = result.text;
      facts.className = result.level;
    }

    input.addEventListener("change", function () {
      var file = input.files[0];
      size = null;
      preview.hidden = true;
      if (!file) {
        return;
      }
      if (file.type !== "image/png" && file.type !== "image/jpeg") {
        facts.textContent = "This is not a PNG or JPEG file; the service will refuse it.";
        facts.className = "warning";
        return;
      }
      var image = new Image();
      image.onload = function () {
        size = {width: image.naturalWidth, height: image.naturalHeight};
        preview.src = image.src;
        preview.hidden = false;
        update();
      };
      image.onerror = function () {
        facts.textContent = "The browser cannot read this image; it may be damaged.";
        facts.className = "warning";
      };
      image.src = URL.createObjectURL(file);
    });
    preset.addEventListener("change", update);
  });
})();
