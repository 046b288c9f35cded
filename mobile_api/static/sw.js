// Service worker: the app shell works offline (cache first), the API never comes from the cache, and Web Push
// messages become system notifications that open the inbox.
const SHELL = "touchpoints-shell-v1";
const FILES = ["./", "index.html", "app.js", "app.css", "manifest.webmanifest", "icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/app/v1/")) {
    return; // API calls and everything else go to the network as usual
  }
  // Shell: network first (a new release shows at once), the cache when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        const copy = response.clone();
        if (response.ok) caches.open(SHELL).then((cache) => cache.put(event.request, copy));
        return response;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || caches.match("index.html"))),
  );
});

// A push carries {"type": "notification", "notification": {id, title, body, url, ...}} (or the notification alone).
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data && event.data.text() }; }
  const note = data.notification || data;
  event.waitUntil(self.registration.showNotification(note.title || "Touchpoints", {
    body: note.body || "", tag: note.id || undefined, icon: "icon.svg", data: { id: note.id, url: note.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.id;
  const target = "/app/#inbox" + (id ? "/" + encodeURIComponent(id) : "");
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
      for (const w of wins) { if (w.url.includes("/app/")) { w.navigate(target); return w.focus(); } }
      return self.clients.openWindow(target);
    }),
  );
});
