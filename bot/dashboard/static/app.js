// Small progressive enhancements; every page also works without scripts.
(function () {
  "use strict";

  function csrf() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  // --- web chat -------------------------------------------------------------------------------
  var chat = document.getElementById("chat");
  var chatForm = document.getElementById("chat-form");
  if (chat && chatForm) {
    var input = document.getElementById("chat-text");
    var last = parseInt(chat.getAttribute("data-last") || "0", 10);

    var bubble = function (who, text, options) {
      var empty = document.getElementById("chat-empty");
      if (empty) { empty.remove(); }
      var div = document.createElement("div");
      div.className = "bubble " + who;
      var t = document.createElement("div");
      t.className = "text";
      t.textContent = text;
      div.appendChild(t);
      if (options && options.length) {
        var box = document.createElement("div");
        box.className = "options";
        options.forEach(function (label, i) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "option";
          b.textContent = label;
          b.setAttribute("data-payload", String(i + 1));
          box.appendChild(b);
        });
        div.appendChild(box);
      }
      chat.appendChild(div);
      chat.scrollTop = chat.scrollHeight;
    };

    var send = function (text, payload) {
      bubble("me", text);
      chatForm.classList.add("busy");
      return postJSON("/chat/send", { text: text, payload: payload || "" }).then(function (data) {
        data.replies.forEach(function (r) { bubble("bot", r.text, r.options); });
      }).catch(function () {
        bubble("bot", "⚠ " + (chat.getAttribute("data-error") || "…"));
      }).finally(function () { chatForm.classList.remove("busy"); });
    };

    chatForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) { return; }
      input.value = "";
      send(text);
    });
    chat.addEventListener("click", function (event) {
      var b = event.target.closest("button.option");
      if (b) { send(b.textContent, b.getAttribute("data-payload")); }
    });
    chat.scrollTop = chat.scrollHeight;
    input.focus();

    // Messages that reach the owner later (a mentor's reply, a broadcast).
    setInterval(function () {
      fetch("/chat/poll?after=" + last, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { messages: [], last: last }; })
        .then(function (data) {
          data.messages.forEach(function (m) { bubble("bot", m.text, m.options); });
          last = data.last;
        }).catch(function () {});
    }, 3000);
  }

  // --- broadcast compose: live preview and recipient count -------------------------------------
  var compose = document.getElementById("compose");
  if (compose) {
    var timer = null;
    var out = document.getElementById("preview");
    var refresh = function () {
      var data = {};
      new FormData(compose).forEach(function (value, key) {
        if (key === "csrf_token") { return; }
        if (data[key] !== undefined) {
          data[key] = [].concat(data[key], value);
        } else {
          data[key] = value;
        }
      });
      postJSON("/dash/broadcasts/preview", data).then(function (res) {
        document.getElementById("preview-count").textContent = res.count_text;
        document.getElementById("preview-sample").textContent = res.sample || "";
        document.getElementById("preview-errors").textContent = (res.errors || []).join(" · ");
        out.classList.toggle("has-errors", !!(res.errors && res.errors.length));
      }).catch(function () {});
    };
    compose.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    compose.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 100);
    });
  }

  // --- broadcast progress: refresh the numbers while it is sending -----------------------------
  var progress = document.getElementById("progress");
  if (progress && progress.getAttribute("data-live") === "1") {
    setInterval(function () {
      fetch(progress.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          Object.keys(data.counts).forEach(function (k) {
            var el = document.getElementById("count-" + k);
            if (el) { el.textContent = data.counts[k]; }
          });
          var bar = document.getElementById("progress-bar");
          if (bar) { bar.value = data.done; bar.max = data.total || 1; }
        }).catch(function () {});
    }, 3000);
  }

  // --- forms that ask before doing something final ---------------------------------------------
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();

// On a phone the menu scrolls sideways: bring the current page's item into view.
(function () {
  var current = document.querySelector("nav.main [aria-current]");
  if (current && current.scrollIntoView) { current.scrollIntoView({ block: "nearest", inline: "center" }); }
})();

(function () {
  document.querySelectorAll(".conversation").forEach(function (box) { box.scrollTop = box.scrollHeight; });
  // --- canned reply picker: show the text that will be sent -----------------------------------
  var cannedKey = document.getElementById("canned-key");
  var cannedPreview = document.getElementById("canned-preview");
  if (cannedKey && cannedPreview) {
    cannedKey.addEventListener("change", function () {
      var option = cannedKey.options[cannedKey.selectedIndex];
      cannedPreview.textContent = option ? option.getAttribute("data-text") : "";
    });
  }
})();
