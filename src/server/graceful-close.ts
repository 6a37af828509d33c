// Stopping a server that is serving: every request in flight gets its whole answer, and its
// connection closes after it. Fastify's close() (Node's server.close()) closes only the
// connections idle at that moment; a kept-alive connection whose request was in flight stayed
// open after its answer until the keep-alive timeout (72 s in Fastify), and the process with it,
// past the 30 s a container platform usually waits before it kills.
import type { Server, ServerResponse } from 'node:http';

export interface GracefulClose {
  /** Runs `close` (the server's own, which waits for requests in flight) with their connections ending after them. */
  close(close: () => Promise<void>): Promise<void>;
}

/** How often connections that have become idle are closed while the server closes. */
const IDLE_SWEEP_MS = 100;

export function trackConnections(server: Server): GracefulClose {
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  // An answer not yet begun says it is the connection's last (Connection: close): Node then ends
  // the connection after it, and a client does not send another request on it.
  const lastOnConnection = (response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  };
  server.on('request', (_request, response: ServerResponse) => {
    if (closing) lastOnConnection(response);
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });
  return {
    async close(close) {
      closing = true;
      for (const response of inFlight) lastOnConnection(response);
      // An answer already begun cannot say so; its connection is closed once it is idle.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      try {
        await close();
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
