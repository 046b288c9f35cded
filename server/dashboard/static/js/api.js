// REST calls with the signed-in token (kept in sessionStorage: gone when the tab closes).
const KEY = "touchpoints.dashboard.token";

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export async function api(path, { method = "GET", body, bearer = token.get() } = {}) {
  const headers = { Authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = JSON.stringify((await response.json()).detail ?? detail); } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.status === 204 ? null : response.json();
}

// A panel whose figures the API refuses (403) or does not serve yet (404, 5xx) says so instead of guessing.
export async function load(path, panel) {
  try {
    return await api(path);
  } catch (error) {
    if (panel && error.status === 403) panel.hidden = true;
    if (error.status === 401) window.dispatchEvent(new Event("touchpoints:signed-out"));
    return null;
  }
}
