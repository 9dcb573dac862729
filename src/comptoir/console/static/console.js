// Comptoir's console: a client of the public JSON API with the key the owner signs in with.
// Every value from the server is written with textContent (never as HTML): documents, questions and
// answers come from customers and files.
"use strict";

const TEXT = {
  fr: {
    signin: "Connexion", key: "Clé d'API (clé de l'entreprise ou clé d'administration)", enter: "Entrer",
    signout: "Déconnexion", chatOnly: "Cette clé ne sert qu'au chat : utilisez une clé d'administration.",
    badKey: "Clé refusée.", documents: "Documents", try: "Essayer", facts: "Faits",
    conversations: "Conversations", toAnswer: "À répondre", settings: "Réglages", companies: "Entreprises",
    drop: "Déposez vos fichiers ici, ou", choose: "choisissez-les",
    formats: ".txt .md .csv .json .jsonl .html .pdf .docx .xlsx", title: "Titre", source: "Source", status: "État",
    chunks: "Passages", updated: "Mis à jour", flagged: "Signalé", view: "Voir", delete: "Supprimer",
    confirmDelete: "Supprimer « {0} » ?", none: "Rien pour l'instant.", uploading: "Envoi…",
    indexed: "Indexé", written: "{0} passages", job: "Traitement : {0}/{1} documents",
    failed: "Échec", back: "← Retour", hidden: "Phrases écartées (instructions cachées, sections internes)",
    ask: "Posez une question comme un client", send: "Envoyer", sources: "Sources", provider: "Moteur",
    cached: "depuis le cache", timings: "Temps (ms)", good: "✓ Bonne réponse", bad: "✗ Mauvaise réponse",
    rated: "Merci, noté.", relearn: "Réapprendre", relearned: "{0} faits appris.", kind: "Type",
    subject: "Sujet", amount: "Montant", line: "Ligne source", handoff: "demande un humain",
    unanswered: "sans réponse", turns: "messages", last: "Dernier", customer: "Client",
    asked: "{0} fois · dernière le {1}", reasonUnknown: "« je ne sais pas »", reasonHandoff: "humain demandé",
    reasonDown: "mauvaise note", answerIt: "Répondre", yourAnswer: "Votre réponse", question: "Question",
    save: "Enregistrer", answerSaved: "Réponse ajoutée à la FAQ : la prochaine fois, l'assistant la donnera.",
    nothingToAnswer: "Aucune question en attente.", prompt: "Consignes de l'assistant (modèle)",
    version: "Version", cache: "Cache des réponses", threshold: "Seuil de similarité", purge: "Vider le cache",
    purged: "Cache vidé.", entries: "{0} entrées · taux de succès {1} %", denseWeight: "Poids du sens (recherche hybride, 0 à 1)",
    keys: "Clés", rotate: "Changer toutes les clés", confirmRotate: "Toutes les clés actuelles cesseront de fonctionner. Continuer ?",
    newKey: "Nouvelle clé (notez-la, elle ne sera plus affichée) :", saved: "Enregistré.", scope: "Portée",
    created: "Créée", open: "Ouvrir", create: "Créer", id: "Identifiant", name: "Nom", language: "Langue",
    messagesWeek: "Messages (7 j)", unansweredRate: "Sans réponse", hitRate: "Cache", newCompany: "Nouvelle entreprise",
    companyKey: "Clé de {0} (notez-la) :", confirmCompany: "Supprimer l'entreprise {0} et toutes ses données ?",
    allCompanies: "Toutes les entreprises", operator: "Opérateur", error: "Erreur",
  },
  en: {
    signin: "Sign in", key: "API key (a company key or the admin key)", enter: "Sign in",
    signout: "Sign out", chatOnly: "This key can only chat: use an admin key.",
    badKey: "Key refused.", documents: "Documents", try: "Try it", facts: "Facts",
    conversations: "Conversations", toAnswer: "To answer", settings: "Settings", companies: "Companies",
    drop: "Drop your files here, or", choose: "choose them",
    formats: ".txt .md .csv .json .jsonl .html .pdf .docx .xlsx", title: "Title", source: "Source", status: "Status",
    chunks: "Chunks", updated: "Updated", flagged: "Flagged", view: "View", delete: "Delete",
    confirmDelete: "Delete “{0}”?", none: "Nothing yet.", uploading: "Uploading…",
    indexed: "Indexed", written: "{0} chunks", job: "Processing: {0}/{1} documents",
    failed: "Failed", back: "← Back", hidden: "Sentences kept out (hidden instructions, internal sections)",
    ask: "Ask a question as a customer would", send: "Send", sources: "Sources", provider: "Engine",
    cached: "from the cache", timings: "Timings (ms)", good: "✓ Good answer", bad: "✗ Bad answer",
    rated: "Thanks, noted.", relearn: "Relearn", relearned: "{0} facts learned.", kind: "Kind",
    subject: "Subject", amount: "Amount", line: "Source line", handoff: "asked for a person",
    unanswered: "unanswered", turns: "messages", last: "Last", customer: "Customer",
    asked: "{0} times · last on {1}", reasonUnknown: "“I don't know”", reasonHandoff: "asked for a person",
    reasonDown: "rated bad", answerIt: "Answer it", yourAnswer: "Your answer", question: "Question",
    save: "Save", answerSaved: "Answer added to the FAQ: next time, the assistant gives it.",
    nothingToAnswer: "No question waiting.", prompt: "Assistant instructions (template)",
    version: "Version", cache: "Answer cache", threshold: "Similarity threshold", purge: "Purge the cache",
    purged: "Cache purged.", entries: "{0} entries · hit rate {1} %", denseWeight: "Weight of meaning (hybrid search, 0 to 1)",
    keys: "Keys", rotate: "Rotate every key", confirmRotate: "Every current key will stop working. Continue?",
    newKey: "New key (write it down, it will not be shown again):", saved: "Saved.", scope: "Scope",
    created: "Created", open: "Open", create: "Create", id: "Id", name: "Name", language: "Language",
    messagesWeek: "Messages (7 d)", unansweredRate: "Unanswered", hitRate: "Cache", newCompany: "New company",
    companyKey: "Key of {0} (write it down):", confirmCompany: "Delete company {0} and all its data?",
    allCompanies: "All companies", operator: "Operator", error: "Error",
  },
};

const state = {
  lang: localStorage.getItem("comptoir.lang") || ((navigator.language || "fr").startsWith("fr") ? "fr" : "en"),
  key: sessionStorage.getItem("comptoir.key"),
  me: null,
};

function t(name, ...args) {
  const text = (TEXT[state.lang] || TEXT.fr)[name] || name;
  return text.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)]));
}

// h("div", {class: "x", onclick: f}, "text", child): an element, its children as text or nodes
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "value") node.value = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $main = () => document.getElementById("main");

function show(...nodes) {
  $main().replaceChildren(...nodes);
}

let toastTimer = null;
function toast(message, error = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = error ? "toast error" : "toast";
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
}

function when(iso) {
  return new Date(iso).toLocaleString(state.lang === "fr" ? "fr-FR" : "en-GB", {
    dateStyle: "short", timeStyle: "short",
  });
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && state.me) {  // the key was revoked or rotated meanwhile
    signOut();
    throw new ApiError(401, await response.json().catch(() => null));
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function failed(error) {
  toast(`${t("error")} : ${error.message}`, true);
}

// -- sign in ---------------------------------------------------------------------------------------

function signinPage(message) {
  const input = h("input", { id: "key", type: "password", autocomplete: "off", required: true });
  const form = h("form", { class: "card signin", id: "signin" },
    h("h1", {}, t("signin")),
    h("label", { for: "key" }, t("key")), input,
    message ? h("p", { class: "error" }, message) : null,
    h("p", {}, h("button", { type: "submit" }, t("enter"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    state.key = input.value.trim();
    await signIn();
  });
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  show(form);
  input.focus();
}

async function signIn() {
  try {
    const me = await api("GET", "/v1/me");
    if (me.scope === "chat") {
      state.key = null;
      sessionStorage.removeItem("comptoir.key");
      signinPage(t("chatOnly"));
      return;
    }
    state.me = me;
    sessionStorage.setItem("comptoir.key", state.key);
    if (!location.hash || location.hash === "#/") {
      // the hashchange this fires routes: routing here too drew the page twice, and the second drawing
      // emptied a form the operator had started to fill
      location.hash = me.admin ? "#/companies" : `#/c/${me.company_id}/documents`;
      return;
    }
    route();
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem("comptoir.key");
    signinPage(error instanceof ApiError && error.status === 401 ? t("badKey") : error.message);
  }
}

function signOut() {
  state.key = null;
  state.me = null;
  sessionStorage.removeItem("comptoir.key");
  location.hash = "#/";
  signinPage();
}

// -- navigation ------------------------------------------------------------------------------------

const PAGES = ["documents", "try", "facts", "conversations", "answer", "settings"];
const PAGE_TITLE = { documents: "documents", try: "try", facts: "facts", conversations: "conversations",
                     answer: "toAnswer", settings: "settings" };

function renderNav(company, page) {
  const nav = document.getElementById("nav");
  const links = [];
  if (state.me.admin) {
    links.push(h("a", { href: "#/companies", class: page === "companies" ? "on" : null }, t("companies")));
  }
  if (company) {
    for (const name of PAGES) {
      links.push(h("a", { href: `#/c/${company}/${name}`, class: page === name ? "on" : null, "data-page": name },
        t(PAGE_TITLE[name]), name === "answer" ? h("span", { class: "badge", id: "answer-count", hidden: true }) : null));
    }
  }
  nav.replaceChildren(...links);
  nav.hidden = false;
  document.getElementById("who").textContent = state.me.admin
    ? `${t("operator")}${company ? ` · ${company}` : ""}` : company;
  const signout = document.getElementById("signout");
  signout.textContent = t("signout");
  signout.hidden = false;
  if (company) refreshAnswerCount(company);
}

async function refreshAnswerCount(company) {
  try {
    const data = await api("GET", `/v1/companies/${encodeURIComponent(company)}/unanswered`);
    const badge = document.getElementById("answer-count");
    if (!badge) return;
    const count = data.groups.length;
    badge.textContent = String(count);
    badge.hidden = count === 0;
  } catch (_) { /* the badge is a hint; the page itself reports errors */ }
}

function route() {
  if (!state.key) { signinPage(); return; }
  if (!state.me) { signIn(); return; }
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "c" && parts[1]) {
    const company = parts[1];
    const page = PAGES.includes(parts[2]) ? parts[2] : "documents";
    renderNav(company, page);
    const view = { documents: documentsPage, try: tryPage, facts: factsPage, conversations: conversationsPage,
                   answer: answerPage, settings: settingsPage }[page];
    view(company, parts.slice(3)).catch(failed);
    return;
  }
  if (state.me.admin) {
    renderNav(null, "companies");
    companiesPage().catch(failed);
  } else {
    location.hash = `#/c/${state.me.company_id}/documents`;
  }
}

const base = (company) => `/v1/companies/${encodeURIComponent(company)}`;

function table(headers, rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("none"));
  return h("div", { class: "table" }, h("table", {},
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, rows)));
}

// -- documents -------------------------------------------------------------------------------------

async function documentsPage(company, rest) {
  if (rest[0]) return documentPage(company, rest[0]);
  const list = h("div", { id: "documents" });
  const uploads = h("div", { id: "uploads" });
  const picker = h("input", { type: "file", multiple: true, hidden: true, id: "files" });
  const zone = h("div", { class: "drop", id: "drop" },
    t("drop"), " ", h("a", { href: "#", onclick: (e) => { e.preventDefault(); picker.click(); } }, t("choose")),
    h("div", { class: "muted" }, t("formats")));
  const send = (files) => { for (const file of files) upload(company, file, uploads, () => loadDocuments(company, list)); };
  picker.addEventListener("change", () => { send(picker.files); picker.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); send(e.dataTransfer.files); });
  show(h("h1", {}, t("documents")), h("div", { class: "card" }, zone, picker, uploads), list);
  await loadDocuments(company, list);
}

async function loadDocuments(company, list) {
  const [data, jobs] = await Promise.all([
    api("GET", `${base(company)}/documents?limit=500`), api("GET", `${base(company)}/jobs?limit=20`)]);
  const remove = (d) => async () => {
    if (!confirm(t("confirmDelete", d.title))) return;
    try { await api("DELETE", `${base(company)}/documents/${d.id}`); await loadDocuments(company, list); }
    catch (error) { failed(error); }
  };
  const pending = jobs.jobs.filter((j) => j.status === "queued" || j.status === "running").map((j) =>
    h("tr", { class: "job" }, h("td", {}, `${j.progress.documents_total} documents`),
      h("td", {}, h("span", { class: "chip" }, t("job", j.progress.documents_done, j.progress.documents_total))),
      h("td", {}, j.progress.chunks_total), h("td", {}, when(j.created_at)), h("td")));
  const rows = data.documents.map((d) => h("tr", { "data-id": d.id },
    h("td", {}, h("a", { href: `#/c/${company}/documents/${d.id}` }, d.title),
      d.source && d.source !== d.title ? h("div", { class: "muted" }, d.source) : null),
    h("td", {}, h("span", { class: "chip ok" }, t("indexed")),
      d.flagged.length ? h("span", { class: "chip warn" }, `${t("flagged")} : ${d.flagged.length}`) : null),
    h("td", {}, d.chunks),
    h("td", {}, when(d.updated_at)),
    h("td", {}, h("button", { class: "danger", type: "button", onclick: remove(d) }, t("delete")))));
  list.replaceChildren(h("div", { class: "card" },
    table([t("title"), t("status"), t("chunks"), t("updated"), ""], [...pending, ...rows])));
}

function upload(company, file, uploads, done) {
  const bar = h("div");
  const status = h("span", { class: "muted" }, t("uploading"));
  const item = h("div", { class: "upload" }, h("div", { class: "row" }, h("strong", { class: "grow" }, file.name), status),
    h("div", { class: "progress" }, bar));
  uploads.prepend(item);
  const form = new FormData();
  form.append("files", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", `${base(company)}/documents`);
  request.setRequestHeader("Authorization", `Bearer ${state.key}`);
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.style.width = `${Math.round((e.loaded / e.total) * 90)}%`;
  });
  request.addEventListener("load", () => {
    let body = null;
    try { body = JSON.parse(request.responseText); } catch (_) { /* reported below */ }
    if (request.status === 200) {
      bar.style.width = "100%";
      status.textContent = `${t("indexed")} · ${t("written", body.documents.reduce((n, d) => n + d.chunks, 0))}`;
      status.className = "chip ok";
      done();
    } else if (request.status === 202) {
      followJob(body, bar, status, done);
    } else {
      status.textContent = `${t("failed")} : ${(body && body.error && body.error.message) || request.status}`;
      status.className = "chip warn";
    }
  });
  request.addEventListener("error", () => { status.textContent = t("failed"); status.className = "chip warn"; });
  request.send(form);
}

async function followJob(job, bar, status, done) {
  for (;;) {
    const p = job.progress;
    bar.style.width = `${90 + Math.round((p.documents_done / Math.max(p.documents_total, 1)) * 10)}%`;
    status.textContent = t("job", p.documents_done, p.documents_total);
    if (job.status === "done" || job.status === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, 700));
    try { job = await api("GET", `/v1/jobs/${job.id}`); } catch (error) { failed(error); return; }
  }
  status.textContent = job.status === "done" ? `${t("indexed")} · ${t("written", job.progress.chunks_done)}`
    : `${t("failed")} : ${job.error || ""}`;
  status.className = job.status === "done" ? "chip ok" : "chip warn";
  done();
}

async function documentPage(company, id) {
  const d = await api("GET", `${base(company)}/documents/${encodeURIComponent(id)}`);
  show(h("p", {}, h("a", { href: `#/c/${company}/documents` }, t("back"))),
    h("h1", {}, d.title),
    h("p", { class: "muted" }, `${d.source || ""} · ${t("chunks")} : ${d.chunks} · ${when(d.updated_at)}`),
    d.flagged.length ? h("div", { class: "card", id: "flagged" }, h("h2", {}, t("hidden")),
      d.flagged.map((f) => h("div", { class: "pre" }, `[${f.reason}] ${f.text}`))) : null,
    h("div", { class: "card", id: "chunks" }, d.chunks_text.map((c) =>
      h("div", {}, h("div", { class: "muted" }, `#${c.ordinal + 1}`), h("div", { class: "pre" }, c.text)))));
}

// -- try it ----------------------------------------------------------------------------------------

async function tryPage(company) {
  const input = h("input", { id: "question", autocomplete: "off", placeholder: t("ask") });
  const answer = h("div", { class: "answer", id: "answer" });
  const details = h("div", { id: "details" });
  const button = h("button", { type: "submit" }, t("send"));
  const form = h("form", { class: "row" }, h("div", { class: "grow" }, input), button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    button.disabled = true;
    answer.textContent = "";
    details.replaceChildren();
    try { await streamChat(company, message, answer, details); } catch (error) { failed(error); }
    button.disabled = false;
  });
  show(h("h1", {}, t("try")), h("div", { class: "card" }, form, h("p"), answer, details));
  input.focus();
}

function consoleUser() {
  let id = sessionStorage.getItem("comptoir.user");
  if (!id) {
    id = `console-${Math.random().toString(36).slice(2, 10)}`;
    sessionStorage.setItem("comptoir.user", id);
  }
  return id;
}

async function streamChat(company, message, answer, details) {
  const response = await fetch("/v1/chat", {
    method: "POST",
    headers: { Authorization: `Bearer ${state.key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ company_id: company, user_id: consoleUser(), message, stream: true }),
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = (block.match(/^event: (.*)$/m) || [])[1];
      const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "{}");
      if (name === "delta") answer.textContent += data.text;
      else if (name === "reset") answer.textContent = "";
      else if (name === "done") showDetails(company, data, answer, details);
      else if (name === "error") throw new Error(data.message);
    }
  }
}

function showDetails(company, out, answer, details) {
  answer.textContent = out.answer;
  const rate = (rating) => async () => {
    try {
      await api("POST", "/v1/chat/feedback", { turn_id: out.turn_id, rating, company_id: company });
      toast(t("rated"));
    } catch (error) { failed(error); }
  };
  details.replaceChildren(
    h("div", { class: "chips", id: "chips" },
      h("span", { class: "chip" }, `${t("provider")} : ${out.provider}`),
      out.cached ? h("span", { class: "chip ok" }, t("cached")) : null,
      out.handoff ? h("span", { class: "chip warn" }, t("handoff")) : null,
      out.answered ? null : h("span", { class: "chip warn" }, t("unanswered"))),
    h("h2", {}, t("sources")),
    out.sources.length ? h("ul", { class: "sources", id: "sources" }, out.sources.map((s) =>
      h("li", {}, h("strong", {}, s.title), h("div", { class: "muted" }, s.snippet)))) : h("p", { class: "muted" }, t("none")),
    h("h2", {}, t("timings")),
    h("div", { class: "chips" }, Object.entries(out.timings_ms).filter(([, ms]) => ms > 0)
      .map(([stage, ms]) => h("span", { class: "chip" }, `${stage} ${ms.toFixed(1)}`))),
    out.turn_id ? h("div", { class: "row" },
      h("button", { class: "ghost", type: "button", onclick: rate("up") }, t("good")),
      h("button", { class: "ghost", type: "button", onclick: rate("down") }, t("bad"))) : null);
}

// -- facts -----------------------------------------------------------------------------------------

async function factsPage(company) {
  const data = await api("GET", `${base(company)}/facts`);
  const relearn = h("button", { type: "button", onclick: async () => {
    try {
      const done = await api("POST", `${base(company)}/facts/relearn`);
      toast(t("relearned", done.facts));
      await factsPage(company);
    } catch (error) { failed(error); }
  } }, t("relearn"));
  const amount = (f) => (f.amount === null ? "" : `${f.amount.toLocaleString(state.lang)} ${f.currency || ""}`);
  show(h("div", { class: "row" }, h("h1", { class: "grow" }, t("facts")), relearn),
    h("div", { class: "card", id: "facts" }, table([t("kind"), t("subject"), t("amount"), t("line")],
      data.facts.map((f) => h("tr", {}, h("td", {}, f.kind), h("td", {}, f.subject), h("td", {}, amount(f)),
        h("td", {}, f.text, h("div", { class: "muted" }, f.title)))))));
}

// -- conversations ---------------------------------------------------------------------------------

async function conversationsPage(company, rest) {
  if (rest[0]) return conversationPage(company, rest[0]);
  const data = await api("GET", `${base(company)}/conversations`);
  show(h("h1", {}, t("conversations")), h("div", { class: "card", id: "conversations" }, table(
    [t("customer"), t("last"), t("turns"), ""],
    data.conversations.map((c) => h("tr", {},
      h("td", {}, h("a", { href: `#/c/${company}/conversations/${encodeURIComponent(c.user_id)}` }, c.user_id)),
      h("td", {}, c.last_question, h("div", { class: "muted" }, when(c.last_at))),
      h("td", {}, c.turns),
      h("td", {}, c.handoff ? h("span", { class: "chip warn" }, t("handoff")) : null,
        c.unanswered ? h("span", { class: "chip warn" }, `${c.unanswered} ${t("unanswered")}`) : null))))));
}

async function conversationPage(company, user) {
  const data = await api("GET", `${base(company)}/conversations/${encodeURIComponent(user)}`);
  show(h("p", {}, h("a", { href: `#/c/${company}/conversations` }, t("back"))), h("h1", {}, user),
    data.turns.map((turn) => h("div", { class: "card" },
      h("div", { class: "muted" }, when(turn.created_at)),
      h("p", {}, h("strong", {}, turn.question)),
      h("div", { class: "answer" }, turn.answer),
      h("div", { class: "chips" }, h("span", { class: "chip" }, turn.provider),
        turn.handoff ? h("span", { class: "chip warn" }, t("handoff")) : null,
        turn.answered ? null : h("span", { class: "chip warn" }, t("unanswered")),
        turn.rating ? h("span", { class: turn.rating === "up" ? "chip ok" : "chip warn" }, turn.rating === "up" ? t("good") : t("bad")) : null))));
}

// -- to answer -------------------------------------------------------------------------------------

async function answerPage(company) {
  const data = await api("GET", `${base(company)}/unanswered`);
  const reasons = { unknown: t("reasonUnknown"), handoff: t("reasonHandoff"), down: t("reasonDown") };
  const groups = data.groups.map((g) => {
    const question = h("input", { value: g.question, name: "question" });
    const reply = h("textarea", { name: "answer", placeholder: t("yourAnswer"), required: true });
    const form = h("form", { class: "answer-form" }, h("label", {}, t("question")), question,
      h("label", {}, t("yourAnswer")), reply, h("p", {}, h("button", { type: "submit" }, t("save"))));
    const card = h("div", { class: "card group" },
      h("div", { class: "row" }, h("strong", { class: "grow question" }, g.question),
        h("span", { class: "chip" }, t("asked", g.count, when(g.last_at)))),
      h("div", { class: "chips" }, Object.entries(g.reasons).map(([r, n]) => h("span", { class: "chip warn" }, `${reasons[r] || r} × ${n}`))),
      g.wordings.length > 1 ? h("ul", { class: "muted" }, g.wordings.slice(0, 5).map((w) => h("li", {}, w))) : null,
      form);
    form.hidden = true;
    const open = h("button", { type: "button", class: "answer-it", onclick: () => { form.hidden = false; open.hidden = true; reply.focus(); } }, t("answerIt"));
    card.insertBefore(open, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", `${base(company)}/unanswered/answer`,
          { question: question.value, answer: reply.value, turn_ids: g.turn_ids });
        card.remove();
        toast(t("answerSaved"));
        refreshAnswerCount(company);
      } catch (error) { failed(error); }
    });
    return card;
  });
  show(h("h1", {}, t("toAnswer")), h("div", { id: "groups" },
    groups.length ? groups : h("p", { class: "card muted" }, t("nothingToAnswer"))));
}

// -- settings --------------------------------------------------------------------------------------

async function settingsPage(company) {
  const [prompt, cache, info, keys] = await Promise.all([
    api("GET", `${base(company)}/prompt`), api("GET", `${base(company)}/cache`),
    api("GET", base(company)), api("GET", `${base(company)}/keys`)]);
  const template = h("textarea", { rows: 10, value: prompt.template, id: "template" });
  const versions = h("select", { id: "versions", onchange: async () => {
    try { template.value = (await api("GET", `${base(company)}/prompt?version=${versions.value}`)).template; }
    catch (error) { failed(error); }
  } }, [0, ...prompt.versions].map((v) => h("option", { value: v, selected: v === prompt.version }, `v${v}`)));
  const threshold = h("input", { type: "number", min: 0, max: 1, step: 0.01, value: cache.threshold, id: "threshold" });
  const weight = h("input", { type: "number", min: 0, max: 1, step: 0.05, value: info.dense_weight ?? 0.5, id: "weight" });
  const newKey = h("div");
  const act = (fn) => async () => { try { await fn(); } catch (error) { failed(error); } };
  show(h("h1", {}, t("settings")),
    h("div", { class: "card" }, h("h2", {}, t("prompt")), h("div", { class: "row" }, h("span", {}, t("version")), versions),
      h("p"), template, h("p", {}, h("button", { type: "button", onclick: act(async () => {
        await api("PUT", `${base(company)}/prompt`, { template: template.value });
        toast(t("saved")); await settingsPage(company);
      }) }, t("save")))),
    h("div", { class: "card" }, h("h2", {}, t("cache")),
      h("p", { class: "muted" }, t("entries", cache.entries, Math.round(cache.hit_rate * 100))),
      h("label", {}, t("threshold")), threshold,
      h("p", { class: "row" }, h("button", { type: "button", onclick: act(async () => {
        await api("PUT", `${base(company)}/cache`, { threshold: Number(threshold.value) }); toast(t("saved"));
      }) }, t("save")), h("button", { type: "button", class: "danger", onclick: act(async () => {
        await api("DELETE", `${base(company)}/cache`); toast(t("purged")); await settingsPage(company);
      }) }, t("purge")))),
    h("div", { class: "card" }, h("label", {}, t("denseWeight")), weight,
      h("p", {}, h("button", { type: "button", onclick: act(async () => {
        await api("PATCH", base(company), { dense_weight: Number(weight.value) }); toast(t("saved"));
      }) }, t("save")))),
    h("div", { class: "card" }, h("h2", {}, t("keys")),
      table([t("scope"), t("name"), t("created")], keys.keys.map((k) =>
        h("tr", {}, h("td", {}, k.scope), h("td", {}, k.name || ""), h("td", {}, when(k.created_at))))),
      h("p", {}, h("button", { type: "button", class: "danger", onclick: act(async () => {
        if (!confirm(t("confirmRotate"))) return;
        const rotated = await api("POST", `${base(company)}/keys/rotate`);
        if (!state.me.admin) { state.key = rotated.api_key; sessionStorage.setItem("comptoir.key", state.key); }
        newKey.replaceChildren(h("p", {}, t("newKey")), h("div", { class: "pre", id: "new-key" }, rotated.api_key));
      }) }, t("rotate"))), newKey));
}

// -- companies (operator) --------------------------------------------------------------------------

async function companiesPage() {
  const data = await api("GET", "/v1/overview");
  const id = h("input", { name: "id", required: true, pattern: "[a-z0-9][a-z0-9-]*" });
  const name = h("input", { name: "name", required: true });
  const language = h("select", { name: "language" }, ["fr", "en"].map((l) => h("option", { value: l }, l)));
  const created = h("div");
  const form = h("form", { class: "card", id: "new-company" }, h("h2", {}, t("newCompany")),
    h("div", { class: "row" }, h("div", { class: "grow" }, h("label", {}, t("id")), id),
      h("div", { class: "grow" }, h("label", {}, t("name")), name),
      h("div", {}, h("label", {}, t("language")), language)),
    h("p", {}, h("button", { type: "submit" }, t("create"))), created);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const company = await api("POST", "/v1/companies", { id: id.value, name: name.value, language: language.value });
      await companiesPage();
      document.getElementById("new-company").append(
        h("p", {}, t("companyKey", company.id)), h("div", { class: "pre", id: "company-key" }, company.api_key));
    } catch (error) { failed(error); }
  });
  const percent = (x) => `${Math.round(x * 100)} %`;
  const remove = (c) => async () => {
    if (!confirm(t("confirmCompany", c.id))) return;
    try { await api("DELETE", `/v1/companies/${encodeURIComponent(c.id)}`); await companiesPage(); }
    catch (error) { failed(error); }
  };
  const rows = data.companies.map((c) => h("tr", { "data-id": c.id },
    h("td", {}, h("a", { href: `#/c/${c.id}/documents` }, c.name), h("div", { class: "muted" }, `${c.id} · ${c.language}`)),
    h("td", {}, c.documents), h("td", {}, c.chunks), h("td", {}, c.messages_week),
    h("td", {}, percent(c.unanswered_rate)), h("td", {}, percent(c.cache_hit_rate)),
    h("td", {}, h("button", { class: "danger", type: "button", onclick: remove(c) }, t("delete")))));
  const headers = [t("name"), t("documents"), t("chunks"), t("messagesWeek"), t("unansweredRate"), t("hitRate"), ""];
  show(h("h1", {}, t("allCompanies")), h("div", { class: "card", id: "companies" }, table(headers, rows)), form);
}

// -- start -----------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.getElementById("lang").textContent = state.lang === "fr" ? "EN" : "FR";
}

document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "fr" ? "en" : "fr";
  localStorage.setItem("comptoir.lang", state.lang);
  applyLanguage();
  route();
});
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
applyLanguage();
route();
