// One WebSocket per page: authenticates with the first message, reconnects with backoff, and hands each
// message to the caller. The server coalesces updates (a few a second at most), so handlers stay cheap.
export function connectLive({ token, onMessage, onState, onDenied }) {
  let socket, retry = 500, closed = false;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/dashboard/ws`;

  function open() {
    onState("connecting");
    socket = new WebSocket(url);
    socket.onopen = () => socket.send(JSON.stringify({ token }));
    socket.onmessage = (event) => {
      retry = 500;
      onState("live");
      onMessage(JSON.parse(event.data));
    };
    socket.onclose = (event) => {
      if (closed) return;
      if (event.code === 4401 || event.code === 4403) { onState("offline"); onDenied(event.code); return; }
      onState("offline");
      setTimeout(open, retry);  // 1013 (too slow), a restart, a network blip: come back, get a fresh snapshot
      retry = Math.min(retry * 2, 10000);
    };
  }
  open();
  return { close() { closed = true; socket?.close(); } };
}
