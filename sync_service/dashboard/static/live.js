// Live progress: every element with data-live polls its job's JSON (the API's, at data-poll)
// about once a second and shows the progress and stage. When the job's status or push state
// changes, a list row is replaced by the server's new rendering of it (data-row), and a job
// page reloads, so the page never has to know how to draw a finished job itself.
"use strict";

(function () {
  var PERIOD_MS = 1000;

  function show(el, job) {
    var fields = {status: job.status, progress: String(job.progress), stage: job.stage};
    Object.keys(fields).forEach(function (name) {
      el.querySelectorAll('[data-field="' + name + '"]').forEach(function (target) {
        target.textContent = fields[name];
      });
    });
    el.querySelectorAll("progress").forEach(function (bar) {
      bar.value = job.progress;
    });
  }

  function replaceRow(el) {
    return fetch(el.dataset.row, {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("row " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        el.replaceWith(fresh);
        paintSwatches(fresh);
      });
  }

  function check(el) {
    return fetch(el.dataset.poll, {credentials: "same-origin",
                                   headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          el.removeAttribute("data-live"); // logged out or gone: stop asking
          throw new Error("poll " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        show(el, job);
        if (job.status + "/" + job.media_sync_status === el.dataset.state) {
          return null;
        }
        if (el.dataset.row) {
          return replaceRow(el);
        }
        window.location.reload();
        return null;
      })
      .catch(function (error) {
        console.warn("live progress:", error.message);
      });
  }

  function tick() {
    var live = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
    Promise.all(live.map(check)).then(function () {
      if (document.querySelector("[data-live]")) {
        window.setTimeout(tick, PERIOD_MS);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setTimeout(tick, PERIOD_MS);
  });
})();
