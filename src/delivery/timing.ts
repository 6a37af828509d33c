// How long a decoy send waits. "Forgot your password?" for an unknown identifier goes through the
// same screens as for a real account, but its code goes nowhere; answered at once, it would tell
// an attacker by its speed alone that no account exists (ASVS 6.3.8: timing too). So a decoy
// waits as long as a real send on the same route: a random one of the route's last successful
// deliveries in this process, which gives the decoys the real sends' whole spread, not just their
// median. Before the route has sent anything, the wait is drawn from what handing a message to
// an SMTP relay or an HTTPS gateway typically takes (a TCP and TLS handshake and a few round
// trips: a few hundred milliseconds). Never longer than the delivery timeout, which bounds a real
// send too. The wait is a timer: it holds no CPU and no database connection.
// A route whose last real send failed (SMTP down, every gateway refusing) makes decoys fail too,
// after as long as its failures took: otherwise an outage would answer "unable to send" for real
// accounts only, and tell them apart. A failure is believed for FAILURE_BELIEVED_MS: with no real
// send since, the route has probably come back, and decoys succeed again.
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent deliveries per route a decoy draws from. */
export const SEND_TIMES_KEPT = 50;

/** How long the last real send's failure makes decoys on its route fail, in milliseconds. */
export const FAILURE_BELIEVED_MS = 5 * 60 * 1000;

/** The wait before a route has any history, in milliseconds (from, to). */
export const FIRST_DECOY_MS = [150, 450] as const;

export interface SendTimes {
  /** A real delivery on `route` took `ms` and succeeded (`ok`) or failed. */
  record(route: string, ms: number, ok?: boolean): void;
  /** How long a decoy on `route` should take, in milliseconds. */
  sample(route: string): number;
  /** Waits `sample(route)`; answers whether the decoy succeeds (false while the route fails). */
  imitate(route: string): Promise<boolean>;
}

interface RouteHistory {
  sent: number[];
  failed: number[];
  /** How the last real send on the route ended, and when (performance.now()). */
  lastOk: boolean;
  lastAt: number;
}

function keep(times: number[], ms: number): void {
  times.push(ms);
  if (times.length > SEND_TIMES_KEPT) times.shift();
}

export function createSendTimes(options: { timeoutMs: number; now?: () => number }): SendTimes {
  const routes = new Map<string, RouteHistory>();
  const now = options.now ?? (() => performance.now());
  const failing = (history: RouteHistory | undefined) =>
    history !== undefined && !history.lastOk && now() - history.lastAt < FAILURE_BELIEVED_MS;

  function sample(route: string): number {
    const history = routes.get(route);
    const times = history && (failing(history) ? history.failed : history.sent);
    const ms = times?.length
      ? times[randomInt(times.length)]!
      : randomInt(FIRST_DECOY_MS[0], FIRST_DECOY_MS[1] + 1);
    return Math.min(ms, options.timeoutMs);
  }

  return {
    record(route, ms, ok = true) {
      const history = routes.get(route) ?? { sent: [], failed: [], lastOk: true, lastAt: 0 };
      keep(ok ? history.sent : history.failed, ms);
      history.lastOk = ok;
      history.lastAt = now();
      routes.set(route, history);
    },
    sample,
    async imitate(route) {
      const history = routes.get(route);
      const fails = failing(history);
      await sleep(sample(route));
      return !fails;
    },
  };
}
