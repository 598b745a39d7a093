// officegate console: the little the server-rendered pages cannot do
// alone. No framework, no build step; the Content-Security-Policy allows
// this file and nothing inline.
"use strict";
(function () {
  var skew = 0; // server clock minus ours, for countdowns
  var now = document.body.getAttribute("data-now");
  if (now) { skew = Date.parse(now) - Date.now(); }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Countdowns: <b class="countdown" data-until="RFC 3339">.
  function tick() {
    var els = document.querySelectorAll(".countdown");
    for (var i = 0; i < els.length; i++) {
      var left = Math.max(0, Math.round((Date.parse(els[i].getAttribute("data-until")) - (Date.now() + skew)) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
      els[i].textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
    }
  }
  tick();
  setInterval(tick, 1000);

  // Live parts: <div data-refresh="URL or empty for this page" data-every="s">
  // is fetched again with X-Partial and replaced, unless a field in it has
  // the focus (someone is typing into a form there).
  function refresh(el) {
    var url = el.getAttribute("data-refresh") || (location.pathname + location.search);
    var every = (parseFloat(el.getAttribute("data-every")) || 3) * 1000;
    function again() { setTimeout(go, every); }
    function go() {
      if (document.hidden || el.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON" && document.activeElement !== document.body) { return again(); }
      fetch(url, { headers: { "X-Partial": "1" }, credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
        if (!r.ok) { return; }
        return r.text().then(function (html) {
          if (el.contains(document.activeElement) && document.activeElement.tagName === "INPUT") { return; }
          el.innerHTML = html; tick();
        });
      }).catch(function () {}).then(again);
    }
    again();
  }
  var live = document.querySelectorAll("[data-refresh]");
  for (var i = 0; i < live.length; i++) { refresh(live[i]); }

  // Live events: Server-Sent Events into the table, newest on top; paused
  // while the reader has scrolled down, resumed at the top.
  var table = document.getElementById("live");
  if (table && window.EventSource) {
    var box = document.getElementById("live-box"), state = document.getElementById("live-state");
    var body = table.tBodies[0], held = [];
    // Once events were missed, the page says so until it is reloaded.
    var liveText = function () { return state.getAttribute(state.hasAttribute("data-missed-seen") ? "data-missed" : "data-live"); };
    var paused = function () { return window.scrollY > 40 || box.scrollTop > 40; };
    var row = function (e) {
      var tr = document.createElement("tr");
      [e.time, e.device, e.type, e.text].forEach(function (v, i) {
        var td = document.createElement("td"); td.textContent = v; if (i === 3) { td.className = "data"; } tr.appendChild(td);
      });
      return tr;
    };
    var flush = function () {
      while (held.length) { body.insertBefore(row(held.shift()), body.firstChild); }
      while (body.rows.length > 500) { body.deleteRow(body.rows.length - 1); }
    };
    var es = new EventSource(table.getAttribute("data-src"));
    es.onmessage = function (m) {
      held.push(JSON.parse(m.data));
      if (paused()) { state.textContent = state.getAttribute("data-paused") + " (" + held.length + ")"; return; }
      state.textContent = liveText(); flush();
    };
    // Open once the gateway has subscribed this page: from here on nothing is missed.
    es.onopen = function () { state.setAttribute("data-open", "1"); state.textContent = liveText(); };
    // The gateway left events out of this stream: the table is no longer whole.
    es.addEventListener("missed", function () { state.setAttribute("data-missed-seen", "1"); state.textContent = liveText(); });
    es.onerror = function () { state.removeAttribute("data-open"); state.textContent = state.getAttribute("data-lost"); };
    var resume = function () { if (!paused()) { state.textContent = liveText(); flush(); } };
    window.addEventListener("scroll", resume); box.addEventListener("scroll", resume);
  }

  // The badge preview, drawn from the badge layout of devices/escpos
  // (AppendBadge): title bold, name bold at double size, company,
  // "Host: …", the date, then the code. 384 dots is the 58 mm paper.
  var canvas = document.getElementById("badge");
  function badge(b) {
    if (!canvas) { return; }
    var c = canvas.getContext("2d"), w = canvas.width, y = 16;
    c.fillStyle = "#fff"; c.fillRect(0, 0, w, canvas.height);
    c.fillStyle = "#000"; c.textAlign = "center"; c.textBaseline = "top";
    var font = "\"Noto Sans CJK SC\", \"WenQuanYi Zen Hei\", \"Microsoft YaHei\", sans-serif";
    var line = function (text, px, bold) {
      if (!text) { return; }
      c.font = (bold ? "bold " : "") + px + "px " + font; c.fillText(text, w / 2, y, w - 16); y += px + 8;
    };
    line(canvas.getAttribute("data-title"), 24, true);
    line(b.name, 48, true);
    line(b.company, 24, false);
    if (b.host) { line(canvas.getAttribute("data-host-label") + b.host, 24, false); }
    line(b.date, 24, false);
    var q = 72; c.strokeRect(w / 2 - q / 2, y + 4, q, q); c.font = "16px monospace"; c.fillText("QR", w / 2, y + q / 2 - 4);
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t && t.classList && t.classList.contains("preview")) {
      badge({ name: t.getAttribute("data-name"), company: t.getAttribute("data-company"), host: t.getAttribute("data-host"), date: t.getAttribute("data-date") });
      canvas.scrollIntoView();
    }
    if (t && t.hasAttribute && t.hasAttribute("data-back")) { ev.preventDefault(); history.back(); }
  });
  var first = document.querySelector(".preview");
  if (first) { first.click(); window.scrollTo(0, 0); }
})();
