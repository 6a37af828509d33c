// Stopping a server that is serving: every request in flight gets its whole answer, and its
// connection closes after it. Fastify's close() (Node's server.close()) closes only the
// connections idle at that moment; a kept-alive connection whose request was in flight stayed
// open after its answer until the keep-alive timeout (72 s in Fastify), and the process with it,
// past the 30 s a container platform usually waits before it kills.
// Node's closeIdleConnections() is not enough either: after clients had aborted requests, Node
// counted some kept-alive connections as active with no request on them (4 of 6 in its
// connections list, none with a message coming in), left them open, and stop() waited 67 s for
// them. So this keeps its own count of the answers in flight on each connection, and while the
// server closes, a connection that has had none for a whole sweep is closed.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface GracefulClose {
  /** Runs `close` (the server's own, which waits for requests in flight) with their connections ending after them. */
  close(close: () => Promise<void>): Promise<void>;
}

/** How often connections that have become idle are closed while the server closes. */
const IDLE_SWEEP_MS = 100;

/** A connection's answers in flight, and since when it has had none. */
interface Connection {
  answering: number;
  quietSince: number;
}

export function trackConnections(server: Server): GracefulClose {
  const inFlight = new Set<ServerResponse>();
  const connections = new Map<Socket, Connection>();
  let closing = false;
  // An answer not yet begun says it is the connection's last (Connection: close): Node then ends
  // the connection after it, and a client does not send another request on it.
  const lastOnConnection = (response: ServerResponse) => {
    if (!response.headersSent) response.setHeader('connection', 'close');
  };
  server.on('connection', (socket: Socket) => {
    connections.set(socket, { answering: 0, quietSince: performance.now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (_request, response: ServerResponse) => {
    if (closing) lastOnConnection(response);
    inFlight.add(response);
    const connection = connections.get(response.socket as Socket);
    if (connection) connection.answering++;
    response.once('close', () => {
      inFlight.delete(response);
      if (connection && --connection.answering === 0) connection.quietSince = performance.now();
    });
  });
  /** Closes the connections idle by Node's count, and those with no answer in flight for a sweep. */
  const closeQuiet = () => {
    server.closeIdleConnections();
    const before = performance.now() - IDLE_SWEEP_MS;
    for (const [socket, { answering, quietSince }] of connections) {
      if (answering === 0 && quietSince <= before) socket.destroy();
    }
  };
  return {
    async close(close) {
      closing = true;
      for (const response of inFlight) lastOnConnection(response);
      // An answer already begun cannot say so; its connection is closed once it is idle.
      const sweep = setInterval(closeQuiet, IDLE_SWEEP_MS);
      try {
        await close();
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
