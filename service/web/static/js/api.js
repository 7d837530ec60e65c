// The page's only way to reach the service: same-origin fetches with the session cookie
// (sent by the browser, HttpOnly so scripts never see it) and, on state-changing calls,
// the session's CSRF token in a header.

let csrf = "";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

async function call(method, path, body, { keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    keepalive,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The session behind the cookie, or null when nobody is signed in (the server answers 204,
// not 401, so a first visit logs no failed request in the console).
export async function currentSession() {
  const session = await call("GET", "/moderate/session");
  csrf = session ? session.csrf_token : "";
  return session;
}

export async function signIn(token) {
  const session = await call("POST", "/moderate/session", { token });
  csrf = session.csrf_token;
  return session;
}

export async function signOut() {
  try {
    await call("DELETE", "/moderate/session");
  } finally {
    csrf = "";
  }
}

export function queue(site, status, { limit = 200, cursor = "", order = "desc" } = {}) {
  const params = new URLSearchParams({ site, status, limit: String(limit), order });
  if (cursor) params.set("cursor", cursor);
  return call("GET", `/v1/review/queue?${params}`);
}

export function claim(site, count) {
  return call("POST", "/v1/review/claim", { site, count });
}

export function decide(site, id, body, options) {
  return call("POST", `/v1/review/${encodeURIComponent(id)}/decision`, { site, ...body }, options);
}

export function stats(site, days) {
  return call("GET", `/v1/sites/${encodeURIComponent(site)}/stats?days=${encodeURIComponent(String(days))}`);
}
