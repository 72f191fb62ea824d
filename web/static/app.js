/* The chat page without reloads. The server renders every turn (web/templates/_turn.html): this script
   only fetches the conversation's part of the page (/ask?...&fragment=1, the same route the no-JavaScript
   form loads) and inserts it, keeps the address on the conversation, and sends feedback. */
(function () {
  "use strict";

  /* A link to a cited range given only as #p-START-END: ask the server to render it highlighted. */
  var cited = /^#p-(\d+)-(\d+)$/.exec(location.hash);
  if (cited && /^\/documents\//.test(location.pathname) && !document.getElementById(location.hash.slice(1))) {
    location.replace(location.pathname + "?start=" + cited[1] + "&end=" + cited[2] + location.hash);
    return;
  }

  /* The report page: remember nothing, but offer "back to your answer" when we came from one. */
  var back = document.getElementById("back-to-answer");
  if (back && document.referrer) {
    try {
      var from = new URL(document.referrer);
      if (from.origin === location.origin && /^\/ask$/.test(from.pathname)) {
        back.href = from.pathname + from.search;
        back.hidden = false;
      }
    } catch (e) { /* an unreadable referrer: no link */ }
  }

  /* The report's table of contents starts closed on a narrow screen, where it would fill it. */
  var toc = document.getElementById("toc-box");
  if (toc && window.matchMedia && window.matchMedia("(max-width: 40em)").matches) toc.open = false;

  var form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.history || !window.DOMParser) return;
  var input = form.elements.q;
  var conversationField = form.elements.conversation_id;
  var clearScopeField = form.elements.clear_scope;
  var conversation = document.getElementById("conversation");
  var status = document.getElementById("status");
  var errorBox = document.getElementById("q-error");
  var button = document.getElementById("ask-button");
  var progress = document.getElementById("progress");
  var newConversation = document.getElementById("new-conversation");
  var copyLink = document.getElementById("copy-link");
  var label = form.querySelector("label[for=q]");
  var initial = conversation.querySelector(".turns");
  copyLink.hidden = !(initial && initial.getAttribute("data-permalink"));

  function parse(html) { return new DOMParser().parseFromString(html, "text/html"); }

  function showError(message) {
    errorBox.textContent = "";
    var prefix = document.createElement("span");
    prefix.className = "visually-hidden";
    prefix.textContent = "Error: ";
    errorBox.append(prefix, message);
    errorBox.hidden = false;
    input.setAttribute("aria-invalid", "true");
    status.textContent = "";
    input.focus();
  }
  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    input.removeAttribute("aria-invalid");
  }
  function busy(on) {
    button.disabled = on;
    progress.hidden = !on;
    conversation.setAttribute("aria-busy", on ? "true" : "false");
  }

  /* Fetch the conversation's part of the page at `url` and put it in place; the inserted .turns element. */
  function load(url) {
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    return fetch(url + sep + "fragment=1", { headers: { "Accept": "text/html" } }).then(function (response) {
      return response.text().then(function (html) {
        if (!response.ok) {
          var message = parse(html).querySelector(".error-message");
          throw new Error(message ? message.textContent.trim()
                                  : "The service could not answer (status " + response.status + "). Please try again.");
        }
        var turns = parse(html).getElementById("turns");
        conversation.replaceChildren(document.importNode(turns, true));
        var id = turns.getAttribute("data-conversation-id") || "";
        conversationField.value = id;
        newConversation.hidden = !id;
        copyLink.hidden = !turns.getAttribute("data-permalink");
        label.textContent = Number(turns.getAttribute("data-count")) ? "Ask a follow-up question" : "Your question";
        return conversation.querySelector(".turns");
      });
    });
  }

  function ask(question) {
    var params = new URLSearchParams({ q: question });
    if (conversationField.value) params.set("conversation_id", conversationField.value);
    if (clearScopeField.value) params.set("clear_scope", "1");
    ["council", "doc"].forEach(function (name) {
      if (form.elements[name].value) params.set(name, form.elements[name].value);
    });
    clearError();
    busy(true);
    status.textContent = "Searching the reports…";
    load("/ask?" + params.toString()).then(function (turns) {
      clearScopeField.value = "";
      input.value = "";
      var permalink = turns.getAttribute("data-permalink");
      if (permalink) {
        history.pushState({ permalink: permalink }, "", permalink);
        shown = location.pathname + location.search;
      }
      var latest = turns.querySelector(".turn.latest");
      var found = latest && !latest.querySelector(".not-found");
      var n = latest ? latest.querySelectorAll(".citation").length : 0;
      status.textContent = (found ? "Answer added above the question box" : "The reports don't answer that") +
        (n ? ", with " + n + (found ? " citations." : " possibly related passages.") : ".");
      if (latest) {
        document.title = latest.querySelector(".question").textContent.replace(/^Question \d+: /, "") + " – CQC assessments";
        latest.querySelector(".question").focus();
      }
    }).catch(function (err) {
      showError(err.message || "The service could not be reached. Please try again.");
    }).then(function () { busy(false); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) {
      showError("The question is empty: type a question, e.g. 'What score did Blackpool get for safeguarding?'");
      return;
    }
    ask(question);
  });

  /* Clicks inside the conversation: remove the council scope, "ask another question", examples. */
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("a, button") : null;
    if (!target) return;
    if (target.classList.contains("chip-remove")) {
      event.preventDefault();
      clearScopeField.value = "1";
      var scope = document.getElementById("scope");
      if (scope) scope.remove();
      status.textContent = "The council scope is removed: your next question searches all councils.";
      input.focus();
    } else if (target.classList.contains("new-question")) {
      event.preventDefault();
      input.focus();
    } else if (target.classList.contains("example")) {
      event.preventDefault();
      input.value = target.textContent;
      ask(target.textContent);
    }
  });

  /* The answer's address: copy it, and let Back and Forward move through the conversation. */
  copyLink.addEventListener("click", function () {
    var turns = conversation.querySelector(".turns");
    var url = new URL(turns.getAttribute("data-permalink"), location.href).href;
    var done = function () { status.textContent = "Link copied: " + url; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(done, function () {
        status.textContent = "Copy this link: " + url;
      });
    } else {
      status.textContent = "Copy this link: " + url;
    }
  });
  var shown = location.pathname + location.search;  /* the address whose conversation is on the page */
  window.addEventListener("popstate", function () {
    if (location.pathname + location.search === shown) return;  // only the #fragment changed (a skip link)
    shown = location.pathname + location.search;
    if (!/^\/ask$/.test(location.pathname)) { location.reload(); return; }
    busy(true);
    load(location.pathname + location.search).then(function () {
      status.textContent = "Showing the conversation as it was at this answer.";
    }).catch(function (err) { showError(err.message); }).then(function () { busy(false); });
  });

  /* Feedback: sent as JSON, the form replaced by what was recorded. */
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.classList || !f.classList.contains("feedback-form")) return;
    event.preventDefault();
    var verdict = f.querySelector("input[name=verdict]:checked");
    var line = f.querySelector(".feedback-status");
    if (!verdict) { line.textContent = "Choose helpful or wrong first."; return; }
    fetch("/api/feedback", {
      method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ conversation_id: f.elements.conversation_id.value, turn: Number(f.elements.turn.value),
                             verdict: verdict.value, comment: f.elements.comment.value })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail || "The feedback could not be sent (status " + response.status + ").");
        line.textContent = "Thank you: your feedback (" + data.verdict + ") is recorded.";
        f.querySelector("button[type=submit]").disabled = true;
      });
    }).catch(function (err) { line.textContent = err.message; });
  }, true);
})();
