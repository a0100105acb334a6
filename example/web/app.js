// The restauth demo page: a plain client of the API under /rest-auth/.
// One module, no framework, no build step. What the API answers is shown
// through textContent and built elements, never parsed as HTML; there is
// no inline script or style, as the page's Content-Security-Policy wants.
//
// The page is served at /, /confirm-email/KEY/, /reset/UID/TOKEN/ and
// /social/PROVIDER/callback; main() picks the view from the path.

const $ = (selector) => document.querySelector(selector);
const store = window.sessionStorage;
const KEYS = {
  token: "restauth-demo.key",
  access: "restauth-demo.access",
  refresh: "restauth-demo.refresh",
  social: "restauth-demo.social",
};
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const VIEWS = ["#confirm-view", "#reset-confirm-view", "#signed-out", "#signed-in"];

let config; // /demo/config.json

// ---------------------------------------------------------------- output

function setStatus(text, kind = "ok") {
  const status = $("#status");
  status.textContent = text;
  status.dataset.kind = kind;
}

// showMailHint tells where the e-mail just sent can be read.
function showMailHint() {
  const hint = $("#mail-hint");
  hint.replaceChildren();
  if (config.outbox) {
    const link = document.createElement("a");
    link.id = "outbox-link";
    link.href = "/outbox";
    link.textContent = "the outbox";
    hint.append("The e-mail is listed in ", link, ": open its link from there.");
  } else if (config.mailer === "console") {
    hint.append("The e-mail was printed in the server's output (the terminal running the example): " +
      "copy the link from there into this browser.");
  } else {
    hint.append("The e-mail went to the SMTP server (SMTP_ADDR): open the link from that mailbox.");
  }
  hint.hidden = false;
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
}

// text joins an error value of the API (a list of messages, usually).
function text(value) {
  if (Array.isArray(value)) return value.map(String).join(" ");
  return typeof value === "string" ? value : JSON.stringify(value);
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  }
  const general = form.querySelector(".form-error");
  if (general) {
    general.textContent = "";
    general.hidden = true;
  }
}

// showErrors puts the API's field errors next to their inputs and
// non_field_errors / detail at the top of the form. aliases maps an API
// field to the input that stands for it (login: username/email → login).
function showErrors(form, data, aliases = {}) {
  const general = [];
  for (const [field, value] of Object.entries(data)) {
    if (field === "detail" || field === "non_field_errors") {
      general.push(text(value));
      continue;
    }
    if (field === "code" || field === "messages") continue; // simplejwt's extras
    const el = document.createElement("span");
    el.className = "field-error";
    el.dataset.field = field;
    const input = form.elements.namedItem(aliases[field] ?? field);
    if (input instanceof HTMLInputElement && !input.disabled) {
      el.id = `${form.id}-${field}-error`;
      el.textContent = text(value);
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", el.id);
      (input.closest("label") ?? input).after(el);
    } else {
      el.textContent = `${field}: ${text(value)}`;
      form.querySelector("button[type=submit]").before(el);
    }
  }
  if (general.length > 0) {
    let el = form.querySelector(".form-error");
    if (!el) {
      el = document.createElement("p");
      el.className = "form-error";
      el.setAttribute("role", "alert");
      form.prepend(el);
    }
    el.textContent = general.join(" ");
    el.hidden = false;
  }
}

// summary is a sentence for #status about a failed request.
function summary(res, what) {
  const d = res.data;
  if (typeof d.detail === "string") return d.detail;
  if (Array.isArray(d.non_field_errors)) return text(d.non_field_errors);
  if (Object.keys(d).length > 0) return `${what} failed: see the fields marked below.`;
  return `${what} failed (HTTP ${res.status}).`;
}

function fail(form, res, what, aliases) {
  showErrors(form, res.data, aliases);
  setStatus(summary(res, what), "error");
}

// -------------------------------------------------------------- requests

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

// send makes one request to the API and reads its JSON answer. It adds
// the credentials of the mode and, in JWT cookie mode, the CSRF header.
async function send(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (auth && config.mode === "token" && store.getItem(KEYS.token)) {
    headers.Authorization = `Token ${store.getItem(KEYS.token)}`;
  } else if (auth && config.mode === "jwt" && !config.jwt_cookies && store.getItem(KEYS.access)) {
    headers.Authorization = `Bearer ${store.getItem(KEYS.access)}`;
  }
  if (config.csrf && UNSAFE.has(method)) {
    if (!cookie(config.csrf_cookie)) {
      // Any answer of the API hands a client without one a CSRF cookie.
      await fetch(`${config.api}/user/`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    }
    const token = cookie(config.csrf_cookie);
    if (token) headers[config.csrf_header] = token;
  }
  const res = await fetch(config.api + path, init);
  let data = {};
  try {
    data = JSON.parse(await res.text());
  } catch {
    data = {}; // not JSON (a plain 404 page, say)
  }
  if (data === null || typeof data !== "object") data = {};
  return { status: res.status, ok: res.ok, data };
}

function haveJWT() {
  return config.jwt_cookies || store.getItem(KEYS.access) !== null || store.getItem(KEYS.refresh) !== null;
}

// refresh asks token/refresh/ for a new access token: with the stored
// refresh token, or {} when it rides in a cookie.
async function refresh() {
  const stored = store.getItem(KEYS.refresh);
  const res = await send("POST", "/token/refresh/", stored ? { refresh: stored } : {}, { auth: false });
  if (!res.ok) return false;
  if (res.data.access && !config.jwt_cookies) store.setItem(KEYS.access, res.data.access);
  if (res.data.refresh) store.setItem(KEYS.refresh, res.data.refresh); // rotated
  return true;
}

// api is send, plus one refresh and retry on a 401 in JWT mode.
async function api(method, path, body) {
  let res = await send(method, path, body);
  if (res.status === 401 && config.mode === "jwt" && haveJWT() && (await refresh())) {
    res = await send(method, path, body);
  }
  return res;
}

function clearCredentials() {
  store.removeItem(KEYS.token);
  store.removeItem(KEYS.access);
  store.removeItem(KEYS.refresh);
}

// keepCredentials stores what a login answered: the token key, or the
// JWTs that do not ride in cookies. With both JWT cookies (HttpOnly)
// nothing is stored; the refresh token is kept only when the server has
// no cookie for it and gives it in the body.
function keepCredentials(data) {
  clearCredentials();
  if (typeof data.key === "string") {
    store.setItem(KEYS.token, data.key);
    return;
  }
  if (typeof data.access === "string" && !config.jwt_cookies) store.setItem(KEYS.access, data.access);
  if (typeof data.refresh === "string" && data.refresh !== "") store.setItem(KEYS.refresh, data.refresh);
}

// onSubmit runs handler(form, values) on submit, after clearing the
// form's errors; the submit button is disabled meanwhile.
function onSubmit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    $("#mail-hint").hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await handler(form, Object.fromEntries(new FormData(form)));
    } catch (err) {
      setStatus(`Could not reach the server: ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// onClick is onSubmit for a lone button.
function onClick(button, handler) {
  button.addEventListener("click", async () => {
    $("#mail-hint").hidden = true;
    button.disabled = true;
    try {
      await handler();
    } catch (err) {
      setStatus(`Could not reach the server: ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// ------------------------------------------------------------ main view

// showMain asks user/ who is signed in and shows that view.
async function showMain() {
  const res = await api("GET", "/user/");
  if (res.ok) {
    fillUser(res.data);
    show("#signed-in");
    await loadSocialAccounts();
    return;
  }
  if (res.status === 401 || res.status === 403) clearCredentials();
  show("#signed-out");
}

function fillUser(user) {
  $("#whoami").textContent = user.username;
  $("#user-email").textContent = user.email || "(none)";
  const form = $("#user-form");
  for (const name of ["username", "first_name", "last_name", "nickname"]) {
    form.elements.namedItem(name).value = user[name] ?? "";
  }
}

async function loadSocialAccounts() {
  if (config.providers.length === 0) return;
  const list = $("#social-accounts");
  const res = await api("GET", "/socialaccounts/");
  list.replaceChildren();
  if (!res.ok || !Array.isArray(res.data)) {
    setStatus(summary(res, "Loading the social accounts"), "error");
    return;
  }
  for (const account of res.data) {
    const item = document.createElement("li");
    item.dataset.provider = account.provider;
    item.dataset.id = String(account.id);
    const label = document.createElement("span");
    const since = account.date_joined ? new Date(account.date_joined).toLocaleString() : "?";
    label.textContent = `${account.provider} (uid ${account.uid}), connected ${since} `;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "disconnect";
    button.textContent = "Disconnect";
    onClick(button, () => disconnect(account));
    item.append(label, button);
    list.append(item);
  }
  $("#social-none").hidden = res.data.length > 0;
}

async function disconnect(account) {
  const res = await api("POST", `/socialaccounts/${encodeURIComponent(account.id)}/disconnect/`, {});
  if (!res.ok) {
    setStatus(summary(res, "Disconnecting"), "error");
    return;
  }
  setStatus(`Disconnected your ${account.provider} account.`);
  await loadSocialAccounts();
}

// startSocial begins a code flow that returns to this page's callback.
async function startSocial(provider, action) {
  const res = await send("GET", `/${encodeURIComponent(provider.name)}/authorize/?redirect_uri=${encodeURIComponent(provider.redirect_uri)}`);
  const target = res.ok ? String(res.data.authorization_url ?? "") : "";
  if (!/^https?:\/\//i.test(target)) {
    setStatus(summary(res, `Starting the ${provider.name} login`), "error");
    return;
  }
  store.setItem(KEYS.social, JSON.stringify({ action, provider: provider.name, state: res.data.state }));
  window.location.assign(target);
}

// finishSocial runs on /social/PROVIDER/callback: it posts the code and
// the state to PROVIDER/ (login) or PROVIDER/connect/.
async function finishSocial(name) {
  const params = new URLSearchParams(window.location.search);
  let pending = null;
  try {
    pending = JSON.parse(store.getItem(KEYS.social) ?? "null");
  } catch {
    pending = null;
  }
  store.removeItem(KEYS.social);
  history.replaceState(null, "", "/");
  if (params.has("error")) {
    // Only the error code (an ASCII token): the rest of a callback URL
    // is anyone's text, not the provider's word.
    const code = (params.get("error") ?? "").replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 64) || "unknown_error";
    setStatus(`The ${name} login failed (${code}).`, "error");
  } else if (!pending || pending.provider !== name || pending.state !== params.get("state")) {
    setStatus(`This ${name} login was not started in this tab, or is finished already: start it again.`, "error");
  } else {
    const connect = pending.action === "connect";
    const path = `/${encodeURIComponent(name)}/${connect ? "connect/" : ""}`;
    const res = await api("POST", path, { code: params.get("code") ?? "", state: params.get("state") ?? "" });
    if (res.ok) {
      keepCredentials(res.data);
      setStatus(connect ? `Connected your ${name} account.` : `Logged in with ${name}.`);
    } else {
      setStatus(summary(res, connect ? `Connecting ${name}` : `The ${name} login`), "error");
    }
  }
  await showMain();
}

// ----------------------------------------------------------------- forms

function setupSignedOut() {
  const methods = config.login_methods;
  const both = methods.includes("username") && methods.includes("email");
  $("#login-label").textContent = both ? "Username or e-mail" : methods.includes("email") ? "E-mail" : "Username";
  const loginAliases = { username: "login", email: "login" };
  onSubmit($("#login-form"), async (form, v) => {
    const login = (v.login ?? "").trim();
    const body = { password: v.password };
    body[login.includes("@") && methods.includes("email") ? "email" : "username"] = login;
    const res = await api("POST", "/login/", body);
    if (!res.ok) return fail(form, res, "Login", loginAliases);
    keepCredentials(res.data);
    form.reset();
    setStatus("Logged in.");
    await showMain();
  });

  $("#signup-section").hidden = !config.registration;
  onSubmit($("#signup-form"), async (form, v) => {
    const body = { password1: v.password1, password2: v.password2 };
    for (const name of ["username", "email"]) if (v[name].trim() !== "") body[name] = v[name];
    const res = await api("POST", "/registration/", body);
    if (!res.ok) return fail(form, res, "Sign-up");
    form.reset();
    const mailed = config.email_verification !== "none" && body.email;
    if (typeof res.data.key === "string" || typeof res.data.access === "string") {
      keepCredentials(res.data);
      setStatus(mailed ? `Signed up and logged in. A confirmation e-mail was sent to ${body.email}.` : "Signed up and logged in.");
      await showMain();
    } else {
      setStatus(`${res.data.detail ?? "Signed up."} Open the link in it to confirm your address, then log in.`);
    }
    if (mailed) showMailHint();
  });

  $("#resend-section").hidden = !config.registration || config.email_verification === "none";
  onSubmit($("#resend-form"), async (form, v) => {
    const res = await api("POST", "/registration/resend-email/", { email: v.email });
    if (!res.ok) return fail(form, res, "Resending");
    setStatus(`If ${v.email.trim()} is waiting for confirmation, a new link was sent to it (at most one every few minutes).`);
    showMailHint();
  });

  onSubmit($("#reset-form"), async (form, v) => {
    const res = await api("POST", "/password/reset/", { email: v.email });
    if (!res.ok) return fail(form, res, "The reset request");
    setStatus(res.data.detail ?? "Password reset e-mail has been sent.");
    showMailHint();
  });

  const buttons = $("#social-buttons");
  for (const provider of config.providers) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.social = provider.name;
    button.textContent = `Log in with ${provider.name}`;
    onClick(button, () => startSocial(provider, "login"));
    buttons.append(button);
  }
  $("#social-login").hidden = config.providers.length === 0;
}

function setupSignedIn() {
  onClick($("#logout-button"), async () => {
    const stored = store.getItem(KEYS.refresh);
    const body = config.mode === "jwt" && stored ? { refresh: stored } : undefined;
    const res = await send("POST", "/logout/", body);
    clearCredentials();
    show("#signed-out");
    setStatus(res.ok ? res.data.detail ?? "Logged out." : summary(res, "Logout"), res.ok ? "ok" : "error");
  });

  onSubmit($("#user-form"), async (form, v) => {
    const body = { username: v.username, first_name: v.first_name, last_name: v.last_name, nickname: v.nickname };
    const res = await api("PATCH", "/user/", body);
    if (!res.ok) return fail(form, res, "Saving");
    fillUser(res.data);
    setStatus("Your details were saved.");
  });

  const old = $("#password-form").elements.namedItem("old_password");
  old.disabled = !config.old_password_field;
  $("#old-password-label").hidden = !config.old_password_field;
  onSubmit($("#password-form"), async (form, v) => {
    const res = await api("POST", "/password/change/", v);
    if (!res.ok) return fail(form, res, "Changing the password");
    form.reset();
    const saved = res.data.detail ?? "New password has been saved.";
    const still = await api("GET", "/user/");
    if (still.ok) {
      setStatus(saved);
    } else {
      clearCredentials();
      show("#signed-out");
      setStatus(`${saved} You were logged out: log in with the new password.`);
    }
  });

  const connect = $("#social-connect");
  for (const provider of config.providers) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.connect = provider.name;
    button.textContent = `Connect ${provider.name}`;
    onClick(button, () => startSocial(provider, "connect"));
    connect.append(button);
  }
  $("#social-section").hidden = config.providers.length === 0;
}

// ------------------------------------------------- the e-mailed links

function showConfirm(key) {
  show("#confirm-view");
  onClick($("#confirm-button"), async () => {
    const res = await send("POST", "/registration/verify-email/", { key });
    history.replaceState(null, "", "/");
    if (res.ok) {
      setStatus("Your e-mail address is confirmed. You can log in now.");
    } else if (res.status === 404) {
      setStatus("This confirmation link is invalid, expired or already used. You can ask for a new one below.", "error");
    } else {
      setStatus(summary(res, "Confirming"), "error");
    }
    await showMain();
  });
}

function showReset(uid, token) {
  show("#reset-confirm-view");
  onSubmit($("#reset-confirm-form"), async (form, v) => {
    const res = await send("POST", "/password/reset/confirm/", { uid, token, ...v });
    if (!res.ok) {
      fail(form, res, "The password reset");
      if (res.data.uid || res.data.token) {
        setStatus("This reset link is invalid, expired or already used: ask for a new one.", "error");
      }
      return;
    }
    form.reset();
    history.replaceState(null, "", "/");
    clearCredentials(); // a reset ends every login
    setStatus(`${res.data.detail ?? "Your password has been reset."} Log in with it.`);
    await showMain();
  });
}

// ------------------------------------------------------------------ start

function describeMode() {
  if (config.mode === "token") {
    return "Token mode: the page keeps the token key in sessionStorage and sends Authorization: Token <key>.";
  }
  if (config.jwt_cookies) {
    const csrf = config.csrf ? `, and unsafe requests carry the ${config.csrf_header} header` : "";
    return `JWT mode with cookies: the access token travels in an HttpOnly cookie, not in an Authorization header${csrf}.`;
  }
  return "JWT mode: the page keeps the access and refresh tokens in sessionStorage and sends Authorization: Bearer.";
}

function decode(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function main() {
  try {
    const res = await fetch("/demo/config.json", { headers: { Accept: "application/json" } });
    config = await res.json();
  } catch (err) {
    setStatus(`Could not load /demo/config.json: ${err.message}`, "error");
    return;
  }
  $("#mode").textContent = describeMode();
  setupSignedOut();
  setupSignedIn();
  const path = window.location.pathname;
  let m;
  if ((m = path.match(/^\/confirm-email\/([^/]+)\/?$/))) {
    showConfirm(decode(m[1]));
  } else if ((m = path.match(/^\/reset\/([^/]+)\/([^/]+)\/?$/))) {
    showReset(decode(m[1]), decode(m[2]));
  } else if ((m = path.match(/^\/social\/([^/]+)\/callback\/?$/))) {
    await finishSocial(decode(m[1]));
  } else {
    await showMain();
  }
}

main().catch((err) => setStatus(`The page failed: ${err.message}`, "error"));
