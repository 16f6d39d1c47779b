// What every dashboard page does: paint colour swatches (a Content-Security-Policy without
// inline styles means colours are set here, from data-swatch) and enlarge a clicked view.
"use strict";

function paintSwatches(root) {
  root.querySelectorAll("[data-swatch]").forEach(function (el) {
    el.style.backgroundColor = el.dataset.swatch;
  });
}

function enableEnlarging(root) {
  var dialog = document.getElementById("enlarged");
  if (!dialog || !dialog.showModal) {
    return; // without <dialog>, the links simply open the image
  }
  var image = dialog.querySelector("img");
  root.querySelectorAll("a[data-enlarge]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var shown = link.querySelector("img");
      image.src = link.href;
      image.alt = shown ? shown.alt : "";
      dialog.showModal();
    });
  });
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog || event.target === image) {
      dialog.close();
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  paintSwatches(document);
  enableEnlarging(document);
});
