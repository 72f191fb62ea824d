/* The chat page without reloads: the form posts to /api/ask and the answer is appended as a new turn.
   Without JavaScript the same form does GET /ask and the server renders the turn (web/templates/_turn.html,
   which this file mirrors). Text is only ever set with textContent: nothing from the server becomes HTML. */
(function () {
  "use strict";

  /* A link to a cited range given only as #p-START-END: ask the server to render it highlighted. */
  var cited = /^#p-(\d+)-(\d+)$/.exec(location.hash);
  if (cited && /^\/documents\//.test(location.pathname) && !document.getElementById(location.hash.slice(1))) {
    location.replace(location.pathname + "?start=" + cited[1] + "&end=" + cited[2] + location.hash);
    return;
  }

  var form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.history) return;
  var input = form.elements.q;
  var conversationField = form.elements.conversation_id;
  var conversation = document.getElementById("conversation");
  var status = document.getElementById("status");
  var errorBox = document.getElementById("q-error");
  var button = form.querySelector("button[type=submit]");
  var newConversation = document.getElementById("new-conversation");
  var stopwords = new Set((form.getAttribute("data-stopwords") || "").split(" "));

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /* The same rule as rag/app.py highlight(): question words (2+ characters, no stop words); a text word
     matches one it equals or, for terms over 4 letters, shares the term's first max(4, len-3) letters with. */
  var WORD = /[A-Za-z0-9]+/g;
  function terms(question) {
    var out = [];
    (question.toLowerCase().match(WORD) || []).forEach(function (w) {
      if (w.length >= 2 && !stopwords.has(w) && out.indexOf(w) < 0) out.push(w);
    });
    return out;
  }
  function matches(word, ts) {
    word = word.toLowerCase();
    return ts.some(function (t) {
      return word === t || (t.length > 4 && word.indexOf(t.slice(0, Math.max(4, t.length - 3))) === 0);
    });
  }
  function highlighted(node, text, question) {
    var ts = terms(question), pos = 0, m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(text)) !== null) {
      if (matches(m[0], ts)) {
        node.appendChild(document.createTextNode(text.slice(pos, m.index)));
        node.appendChild(el("mark", { text: m[0] }));
        pos = m.index + m[0].length;
      }
    }
    node.appendChild(document.createTextNode(text.slice(pos)));
    return node;
  }

  /* Verbatim text as <p> paragraphs, split at blank lines, as rag/app.py paragraphs() does. */
  function paragraphs(node, text, question) {
    text.replace(/^\n+|\n+$/g, "").split(/\n[ \t]*\n\s*/).forEach(function (part) {
      if (part.trim()) node.appendChild(highlighted(el("p"), part, question || ""));
    });
    return node;
  }

  function passageUrl(doc, start, end) {
    return "/documents/" + encodeURIComponent(doc) + "?start=" + start + "&end=" + end + "#p-" + start + "-" + end;
  }

  function turnView(turn, n) {
    var id = "turn-" + n;
    var article = el("article", { "class": "turn", id: id, "aria-labelledby": id + "-q" }, [
      el("h2", { "class": "question", id: id + "-q", tabindex: "-1" },
        [el("span", { "class": "visually-hidden", text: "Question: " }), turn.question])
    ]);
    var cites = turn.citations || [];
    if (turn.found) {
      var answer = el("div", { "class": "answer" }, [
        el("p", { "class": "answer-label", text: "The reports say:" }),
        paragraphs(el("blockquote", { "class": "quote" }), turn.answer)
      ]);
      if (turn.fact) {
        answer.appendChild(el("p", { "class": "fact" }, [el("span", { "class": "fact-label", text: "From the ratings record:" }),
          " " + turn.fact.summary + " ", el("a", { href: "/councils", text: "All councils' ratings and scores" })]));
      }
      var src = turn.answer_source;
      if (src) {
        var p = el("p", { "class": "answer-source" });
        if (src.citation !== null && src.citation < cites.length) {
          var c = cites[src.citation];
          p.append("Quoted from ", el("a", { href: "#" + id + "-c" + (src.citation + 1), text: "citation " + (src.citation + 1) }),
            ": " + c.title + (c.section ? ", " + c.section : "") + ". ");
        }
        p.append(el("a", { href: passageUrl(src.doc, src.start, src.end), text: "View the answer in its report" }));
        answer.appendChild(p);
      }
      article.appendChild(answer);
    } else {
      article.appendChild(el("div", { "class": "answer not-found" }, [
        turn.message ? el("p", { "class": "answer-label" }, [el("strong", { text: turn.message })])
          : el("p", { "class": "answer-label" }, [el("strong", { text: "The reports don't answer that." }),
              cites.length ? " These passages may be related." : " No passage matched the question."])
      ]));
    }
    if (turn.council) {
      article.appendChild(el("p", { "class": "context" },
        ["Follow-up questions keep to ", el("strong", { text: turn.council }), "."]));
    }
    if (cites.length) {
      article.appendChild(el("h3", { "class": "citations-heading", text: turn.found ? "Citations" : "Possibly related" }));
      var list = el("ol", { "class": "citations" });
      cites.forEach(function (c, i) {
        var item = el("li", { "class": "citation", id: id + "-c" + (i + 1) }, [el("p", { "class": "doc-title", text: c.title })]);
        if (c.councils && c.councils.length) item.appendChild(el("p", { "class": "councils", text: c.councils.join(", ") }));
        if (c.section_path && c.section_path.length) {
          item.appendChild(el("ol", { "class": "breadcrumb", "aria-label": "Section" },
            c.section_path.map(function (part) { return el("li", { text: part }); })));
        }
        item.appendChild(paragraphs(el("div", { "class": "passage" }), c.text, turn.question));
        item.appendChild(el("p", {}, [el("a", { "class": "view", href: passageUrl(c.doc, c.start, c.end) }, [
          "View in report", el("span", { "class": "visually-hidden", text: ": " + c.title + (c.section ? ", " + c.section : "") })
        ])]));
        list.appendChild(item);
      });
      article.appendChild(list);
    }
    return article;
  }

  function showError(message) {
    errorBox.textContent = "";
    errorBox.append(el("span", { "class": "visually-hidden", text: "Error: " }), message);
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

  /* The turns added here live in this page's history entry, so leaving for a report and coming back
     shows the whole conversation again, and a follow-up still carries its conversation id. */
  var turns = [];
  function remember() {
    history.replaceState({ conversation_id: conversationField.value, turns: turns }, "");
  }
  function append(turn) {
    var n = conversation.querySelectorAll(".turn").length + 1;
    var view = turnView(turn, n);
    conversation.appendChild(view);
    return view;
  }
  if (history.state && Array.isArray(history.state.turns)) {
    turns = history.state.turns;
    turns.forEach(append);
    if (history.state.conversation_id) conversationField.value = history.state.conversation_id;
  }

  newConversation.addEventListener("click", function () { history.replaceState(null, ""); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question) {
      showError("The question is empty: type a question, e.g. 'What score did Blackpool get for safeguarding?'");
      return;
    }
    clearError();
    button.disabled = true;
    status.textContent = "Searching the reports…";
    var body = { question: question, conversation_id: conversationField.value || null,
                 council: form.elements.council.value || null, doc: form.elements.doc.value || null };
    fetch("/api/ask", { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" },
                        body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error(data.detail || "The service could not answer (status " + response.status + "). Please try again.");
          return data;
        });
      })
      .then(function (turn) {
        conversationField.value = turn.conversation_id;
        turns.push(turn);
        remember();
        var view = append(turn);
        input.value = "";
        newConversation.hidden = false;
        form.querySelector("label[for=q]").textContent = "Ask a follow-up question";
        var n = (turn.citations || []).length;
        status.textContent = (turn.found ? "Answer added below" : "The reports don't answer that") +
          (n ? ", with " + n + (turn.found ? " citations." : " possibly related passages.") : ".");
        view.querySelector(".question").focus();
      })
      .catch(function (err) {
        showError(err.message || "The service could not be reached. Please try again.");
      })
      .then(function () { button.disabled = false; });
  });
})();
