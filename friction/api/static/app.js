// friction in-app reference page: listen for prompts, answer them, show the outcome.
// Plain DOM, no framework, no network beyond this service. Text from the server is
// only ever set with textContent (never innerHTML): a merchant name is not markup.
//
// After a block (an answer "no", or an automatic decline the customer is told about), the
// page shows what happened and "Talk to a person": it contests that payment with the same
// session (POST /v1/customers/{id}/contests), which puts it before an analyst.
//
// Opened as /app/?customer=<id>#session=<token>: the customer session the bank's backend
// minted (POST /v1/customers/{id}/sessions). The fragment never reaches a server or a
// Referer; the page takes the token out of the address bar at once and sends it only as
// an Authorization header (which EventSource cannot do, hence a fetch-read stream).
"use strict";

const WORDS = {
  en: {
    title: "Payment check", yes: "Yes", no: "No", human: "Talk to a person",
    connecting: "Connecting…", idle: "No questions right now.", asking: "Please check this payment.",
    offline: "Connection lost, retrying…", noCustomer: "Open this page with ?customer=<id>.",
    expired: "This session has ended. Please open the page again from your bank's app.",
    released: "Thank you. The payment can go ahead.",
    blocked: "Thank you for telling us. We have stopped this payment.",
    review: "Thank you. Our team will check this payment and may contact you.",
    pending: "Thank you. One more question…",
    closed: "This question is no longer open.", failed: "Something went wrong. Please try again.",
    contested: "Thank you. A member of our team will contact you about this payment.",
  },
  ar: {
    title: "التحقق من الدفع", yes: "نعم", no: "لا", human: "التحدث إلى موظف",
    connecting: "جارٍ الاتصال…", idle: "لا توجد أسئلة الآن.", asking: "يرجى التحقق من هذه الدفعة.",
    offline: "انقطع الاتصال، نعيد المحاولة…", noCustomer: "افتح هذه الصفحة مع ?customer=<id>.",
    expired: "انتهت هذه الجلسة. يرجى فتح الصفحة مرة أخرى من تطبيق البنك.",
    released: "شكراً لك. يمكن إتمام الدفعة.",
    blocked: "شكراً لإبلاغنا. أوقفنا هذه الدفعة.",
    review: "شكراً لك. سيتحقق فريقنا من هذه الدفعة وقد يتواصل معك.",
    pending: "شكراً لك. سؤال آخر…",
    closed: "هذا السؤال لم يعد مفتوحاً.", failed: "حدث خطأ. يرجى المحاولة مرة أخرى.",
    contested: "شكراً. سيتواصل معك أحد موظفينا بشأن هذه الدفعة.",
  },
  fr: {
    title: "Vérification du paiement", yes: "Oui", no: "Non", human: "Parler à une personne",
    connecting: "Connexion…", idle: "Aucune question pour le moment.",
    asking: "Merci de vérifier ce paiement.",
    offline: "Connexion perdue, nouvel essai…", noCustomer: "Ouvrez cette page avec ?customer=<id>.",
    expired: "Cette session est terminée. Rouvrez la page depuis l'application de votre banque.",
    released: "Merci. Le paiement peut avoir lieu.",
    blocked: "Merci de nous avoir prévenus. Nous avons arrêté ce paiement.",
    review: "Merci. Notre équipe va vérifier ce paiement et pourra vous contacter.",
    pending: "Merci. Encore une question…",
    closed: "Cette question n'est plus ouverte.", failed: "Une erreur est survenue. Réessayez.",
    contested: "Merci. Un conseiller vous contactera au sujet de ce paiement.",
  },
  es: {
    title: "Comprobación de pago", yes: "Sí", no: "No", human: "Hablar con una persona",
    connecting: "Conectando…", idle: "No hay preguntas ahora.", asking: "Revise este pago, por favor.",
    offline: "Conexión perdida, reintentando…", noCustomer: "Abra esta página con ?customer=<id>.",
    expired: "Esta sesión ha terminado. Vuelva a abrir la página desde la app de su banco.",
    released: "Gracias. El pago puede continuar.",
    blocked: "Gracias por avisarnos. Hemos detenido este pago.",
    review: "Gracias. Nuestro equipo revisará este pago y puede contactarle.",
    pending: "Gracias. Una pregunta más…",
    closed: "Esta pregunta ya no está abierta.", failed: "Algo salió mal. Inténtelo de nuevo.",
    contested: "Gracias. Una persona de nuestro equipo le contactará sobre este pago.",
  },
};

const $ = (id) => document.getElementById(id);
const customer = new URLSearchParams(location.search).get("customer");
const session = new URLSearchParams(location.hash.slice(1)).get("session");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
let ended = false; // the session expired: stop listening, ask for a fresh page

function headers(extra) {
  const found = { ...extra };
  if (session) found.Authorization = `Bearer ${session}`;
  return found;
}
const answered = new Set(); // prompts already answered (token + text): each counts once
const keyOf = (p) => `${p.token}\n${p.text}`;
let current = null; // the prompt on screen
let language = "en";

function words() {
  return WORDS[language] || WORDS.en;
}

function setLanguage(locale, direction) {
  const primary = (locale || "en").split(/[-_]/)[0].toLowerCase();
  language = primary in WORDS ? primary : "en";
  const root = document.documentElement;
  root.lang = locale || "en";
  root.dir = direction === "rtl" ? "rtl" : "ltr";
  const w = words();
  document.title = w.title;
  $("title").textContent = w.title;
  for (const id of ["yes", "no", "human"]) $(id).textContent = w[id];
  $("contest").textContent = w.human;
}

function show(id, visible) {
  $(id).hidden = !visible;
}

function status(text) {
  $("status").textContent = text;
}

// The question with merchant/payee names isolated in <bdi>, so a Latin name inside
// Arabic text (or the reverse) keeps its own direction and does not reorder the sentence.
function renderQuestion(element, text, names) {
  element.replaceChildren();
  const found = (names || []).filter((n) => n && text.includes(n));
  let rest = text;
  while (found.length && rest) {
    let first = null;
    let at = rest.length;
    for (const name of found) {
      const i = rest.indexOf(name);
      if (i >= 0 && i < at) { at = i; first = name; }
    }
    if (first === null) break;
    element.append(document.createTextNode(rest.slice(0, at)));
    const bdi = document.createElement("bdi");
    bdi.textContent = first;
    element.append(bdi);
    rest = rest.slice(at + first.length);
  }
  element.append(document.createTextNode(rest));
}

function showPrompt(prompt) {
  current = prompt;
  setLanguage(prompt.locale, prompt.direction);
  const card = $("prompt");
  card.dir = prompt.direction;
  card.lang = prompt.locale;
  card.dataset.dialogue = prompt.dialogue_id;
  renderQuestion($("question"), prompt.text, prompt.names);
  for (const button of card.querySelectorAll("button")) button.disabled = false;
  show("result", false);
  show("error", false);
  show("prompt", true);
  status(words().asking);
}

function showResult(verdict, paymentId, text, contested) {
  current = null;
  const result = $("result");
  result.dataset.verdict = verdict;
  result.dataset.payment = paymentId || "";
  $("result-text").textContent = contested ? words().contested : text || words()[verdict] || words().review;
  const button = $("contest");
  button.dataset.payment = paymentId || "";
  button.disabled = false;
  show("contest", verdict === "blocked" && Boolean(paymentId) && !contested);
  show("prompt", false);
  show("result", true);
  status("");
}

// The latest declined or blocked payment (an automatic decline is told here too), with
// "Talk to a person" until the customer has asked.
async function refreshNotices() {
  if (ended || current) return;
  const url = `/v1/customers/${encodeURIComponent(customer)}/notices`;
  const response = await fetch(url, { headers: headers({ Accept: "application/json" }) });
  if (response.status === 401) return endSession();
  if (!response.ok) return;
  const [notice] = (await response.json()).notices;
  const result = $("result");
  if (!notice || current) return;
  if (!result.hidden && result.dataset.payment !== notice.payment_id) return; // another outcome
  const shown = !result.hidden;
  if (shown && (!notice.contested || $("contest").hidden)) return; // nothing new to show
  setLanguage(notice.locale, notice.direction);
  result.dir = notice.direction;
  result.lang = notice.locale;
  showResult("blocked", notice.payment_id, notice.text, notice.contested);
}

async function contest() {
  const button = $("contest");
  button.disabled = true;
  const url = `/v1/customers/${encodeURIComponent(customer)}/contests`;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ payment_id: button.dataset.payment }),
    });
  } catch (error) {
    button.disabled = false;
    return showError(words().failed);
  }
  if (response.status === 401) return endSession();
  if (!response.ok) {
    button.disabled = false;
    return showError(response.status >= 500 ? words().failed : words().closed);
  }
  $("result-text").textContent = words().contested;
  $("result").dataset.contested = "true";
  show("contest", false);
  show("error", false);
}

function showError(text) {
  $("error").textContent = text;
  show("error", true);
}

function onPrompts(prompts) {
  const open = prompts.filter((p) => !answered.has(keyOf(p)));
  if (open.length) {
    const newest = open[0]; // the server sends newest first
    if (!current || keyOf(current) !== keyOf(newest)) showPrompt(newest);
    return;
  }
  if (current) {
    show("prompt", false); // expired or answered elsewhere (e.g. by SMS)
    current = null;
  }
  if ($("result").hidden) status(words().idle);
}

async function answer(choice) {
  if (!current) return;
  const prompt = current;
  for (const button of $("prompt").querySelectorAll("button")) button.disabled = true;
  answered.add(keyOf(prompt));
  let response;
  try {
    response = await fetch(`/v1/dialogues/${encodeURIComponent(prompt.dialogue_id)}/answer`, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify({ token: prompt.token, answer: choice }),
    });
  } catch (error) {
    answered.delete(keyOf(prompt));
    showError(words().failed);
    for (const button of $("prompt").querySelectorAll("button")) button.disabled = false;
    return;
  }
  if (response.status === 401) {
    endSession();
    return;
  }
  if (!response.ok) {
    showError(response.status >= 500 ? words().failed : words().closed);
    show("prompt", false);
    current = null;
    return;
  }
  const payment = await response.json();
  if (payment.verdict !== "pending") {
    showResult(payment.verdict, prompt.payment_id);
    return;
  }
  // A flow with a second question (new payee: the scam question): it arrives on the
  // stream; poll once too, in case the stream is reconnecting right now.
  if (current === prompt) {
    show("prompt", false);
    current = null;
    status(words().pending);
  }
  await refresh();
}

function endSession() {
  ended = true;
  current = null;
  show("prompt", false);
  status(words().expired);
}

async function refresh() {
  const url = `/v1/customers/${encodeURIComponent(customer)}/prompts`;
  const response = await fetch(url, { headers: headers({ Accept: "application/json" }) });
  if (response.status === 401) endSession();
  else if (response.ok) onPrompts(await response.json());
}

// One server-sent event: "event: <name>" and "data: <json>" lines.
function dispatch(block) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (name === "prompts") onPrompts(JSON.parse(data));
  else if (name === "expired") endSession();
  refreshNotices().catch(() => {}); // on every event and keep-alive: a notice wakes the stream
}

// Read the stream until it ends; the caller reconnects (as EventSource would).
async function stream() {
  const url = `/v1/customers/${encodeURIComponent(customer)}/prompts`;
  const response = await fetch(url, { headers: headers({ Accept: "text/event-stream" }) });
  if (response.status === 401 || response.status === 403) {
    endSession();
    return;
  }
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  if (!current && $("result").hidden) status(words().idle);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

async function listen() {
  while (!ended) {
    try {
      await stream();
    } catch (error) {
      status(words().offline);
    }
    if (!ended) await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function main() {
  setLanguage(navigator.language, "ltr");
  for (const id of ["yes", "no", "human"]) {
    $(id).addEventListener("click", () => answer($(id).dataset.answer));
  }
  $("contest").addEventListener("click", contest);
  if (!customer) {
    status(words().noCustomer);
    return;
  }
  status(words().connecting);
  listen();
}

main();
