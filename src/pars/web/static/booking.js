// Booking (screens/booking.py). Progressive enhancement only: every button here also works
// as a plain form post without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function form() { return document.getElementById("booking-form"); }

  function changed() {
    // A value set from a script fires no change event: tell the form, so the draft is saved.
    var f = form();
    if (f) { f.dispatchEvent(new Event("change", { bubbles: true })); }
  }

  function pickCharge(button) {
    var row = button.getAttribute("data-row");
    var statute = document.getElementById("f-charges-" + row + "-statute");
    var grade = document.getElementById("f-charges-" + row + "-grade");
    var counts = document.getElementById("f-charges-" + row + "-counts");
    if (!statute) { return; }
    statute.value = button.getAttribute("data-statute");
    if (grade) { grade.value = button.getAttribute("data-grade"); }
    var box = document.getElementById("suggest-" + row);
    if (box) {
      box.textContent = "";
      var p = document.createElement("p");
      p.className = "pars-suggestions__head";
      p.textContent = "Picked: " + button.textContent.replace(/\s+/g, " ").trim();
      box.appendChild(p);
    }
    if (counts) { counts.focus(); counts.select(); }
    changed();
  }

  // After a pick: the person's description and contact details from their newest arrest,
  // into the fields the officer left empty (never over what was typed), to check with them.
  function prefill(id) {
    fetch("/booking/prefill/" + encodeURIComponent(id), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : { fields: {} }; }).then(function (found) {
      var filled = [];
      Object.keys(found.fields || {}).forEach(function (name) {
        var input = document.getElementById("f-" + name.replace(/\./g, "-"));
        if (input && !input.value) {
          input.value = found.fields[name];
          filled.push(input);
        }
      });
      var note = document.getElementById("prefill-note");
      if (note) {
        note.textContent = filled.length
          ? "Filled in from the arrest of " + found.from + ": check each with the arrestee."
          : "";
      }
      if (filled.length) { changed(); }
    }).catch(function () { /* the officer types them as before */ });
  }

  function pickPerson(button) {
    var id = button.getAttribute("data-pick");
    var hidden = document.getElementById("person_id");
    if (hidden) { hidden.value = id; }
    ["state-id", "fbi-number", "local-person-id"].forEach(function (key) {
      var value = button.getAttribute("data-" + key);
      var input = document.getElementById("f-person-" + key.replace(/-/g, "_"));
      if (input && value) { input.value = value; }
    });
    document.querySelectorAll(".pars-pick").forEach(function (b) {
      var on = b === button;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("usa-button--outline", !on);
      b.closest(".pars-candidate").classList.toggle("pars-candidate--picked", on);
    });
    if (id) { prefill(id); }
    var summary = document.getElementById("pick-summary");
    if (summary) {
      summary.textContent = "";
      if (id) {
        summary.appendChild(document.createTextNode("Picked: "));
        var strong = document.createElement("strong");
        strong.textContent = button.getAttribute("data-summary");
        summary.appendChild(strong);
      }
    }
    changed();
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    if (target.classList.contains("pars-suggestion")) {
      event.preventDefault();
      pickCharge(target);
    } else if (target.hasAttribute("data-pick")) {
      event.preventDefault();
      pickPerson(target);
    } else if (target.hasAttribute("data-print")) {
      window.print();
    }
  });

  // Arrow keys move from a citation to its suggestions and along them.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    var el = event.target;
    var list;
    if (el.hasAttribute && el.hasAttribute("data-suggest")) {
      list = document.getElementById(el.getAttribute("data-suggest"));
      var first = list && list.querySelector(".pars-suggestion");
      if (first && event.key === "ArrowDown") { event.preventDefault(); first.focus(); }
    } else if (el.classList && el.classList.contains("pars-suggestion")) {
      var item = el.closest("li");
      var next = event.key === "ArrowDown" ? item.nextElementSibling : item.previousElementSibling;
      event.preventDefault();
      if (next) {
        next.querySelector(".pars-suggestion").focus();
      } else if (event.key === "ArrowUp") {
        var row = el.getAttribute("data-row");
        document.getElementById("f-charges-" + row + "-statute").focus();
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (b) { b.hidden = false; });
  });
})();
