// How long a decoy send waits. "Forgot your password?" for an unknown identifier goes through the
// same screens as for a real account, but its code goes nowhere; answered at once, it would tell
// an attacker by its speed alone that no account exists (ASVS 6.3.8: timing too). So a decoy
// waits as long as a real send on the same route: a random one of the route's last successful
// deliveries in this process, which gives the decoys the real sends' whole spread, not just their
// median. Before the route has sent anything, the wait is drawn from what handing a message to
// an SMTP relay or an HTTPS gateway typically takes (a TCP and TLS handshake and a few round
// trips: a few hundred milliseconds). Never longer than the delivery timeout, which bounds a real
// send too. The wait is a timer: it holds no CPU and no database connection.
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many recent deliveries per route a decoy draws from. */
export const SEND_TIMES_KEPT = 50;

/** The wait before a route has any history, in milliseconds (from, to). */
export const FIRST_DECOY_MS = [150, 450] as const;

export interface SendTimes {
  /** A successful delivery on `route` took `ms`. */
  record(route: string, ms: number): void;
  /** How long a decoy on `route` should take, in milliseconds. */
  sample(route: string): number;
  /** Waits `sample(route)`. */
  imitate(route: string): Promise<void>;
}

export function createSendTimes(options: { timeoutMs: number }): SendTimes {
  const recent = new Map<string, number[]>();

  function sample(route: string): number {
    const times = recent.get(route);
    const ms = times?.length
      ? times[randomInt(times.length)]!
      : randomInt(FIRST_DECOY_MS[0], FIRST_DECOY_MS[1] + 1);
    return Math.min(ms, options.timeoutMs);
  }

  return {
    record(route, ms) {
      const times = recent.get(route) ?? [];
      times.push(ms);
      if (times.length > SEND_TIMES_KEPT) times.shift();
      recent.set(route, times);
    },
    sample,
    imitate: (route) => sleep(sample(route)),
  };
}
