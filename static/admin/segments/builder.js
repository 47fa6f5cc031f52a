// The segment builder: show each row's value fields as soon as its rule is chosen, and a live count.
// The page works without it (the server shows the fields after "Preview").
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("segment-rules");
  if (!box) return;
  const kindFields = JSON.parse(document.getElementById("segment-kind-fields").textContent);
  const form = box.closest("form");
  const counter = box.querySelector(".segment-live-count");
  const show = (row) => {
    const wanted = kindFields[row.querySelector("select[name$='-kind']").value] || [];
    row.querySelectorAll(".rule-value").forEach((el) => { el.hidden = !wanted.includes(el.dataset.field); });
  };
  box.querySelectorAll(".rule-row").forEach((row) => {
    show(row);
    row.querySelector("select[name$='-kind']").addEventListener("change", () => show(row));
  });
  let timer = null;
  const count = () => {
    const params = new URLSearchParams();
    new FormData(form).forEach((value, key) => { if (key.startsWith("rule-")) params.append(key, value); });
    fetch(box.dataset.countUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => {
        counter.textContent = data.errors
          ? data.errors.join(" ")
          : interpolate(ngettext("%s customer now", "%s customers now", data.count), [data.count]);
      })
      .catch(() => { counter.textContent = ""; });
  };
  if (Array.from(box.querySelectorAll("select[name$='-kind']")).some((kind) => kind.value)) count();
  form.addEventListener("change", (event) => {
    if (!event.target.name || !event.target.name.startsWith("rule-")) return;
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  });
});
