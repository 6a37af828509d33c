// The limits in Redis (VAKT_REDIS_URL), shared by every process: the same contract and figures
// as the database backend, each change one Lua script, so concurrent processes cannot overshoot.
//
// The database counts sent codes from the one_time_codes rows themselves. The codes (with their
// tries) stay in the database here too; Redis keeps its own log of them, one sorted set per
// counter (member: code id, score: when it was made, as the row's created_at). A place is taken
// atomically before the code is sent and given back if delivery fails, so in-flight codes count
// and a burst of requests on many processes cannot pass a full window together.
import { Redis } from 'ioredis';
import { ConfigError } from '../config/errors.js';
import type { CodeCounter, LimitStore } from './limit-store.js';
import type { ThrottleRow } from './throttle-repository.js';

// KEYS: one sorted set per counter. ARGV: now, code id, JSON list of each counter's [ms, max].
// Answers 0 when a place was taken, or the ms until the first full window frees one.
const TAKE_CODE_PLACE = `
local now = tonumber(ARGV[1])
local windows = cjson.decode(ARGV[3])
local wait = 0
for i, key in ipairs(KEYS) do
  for _, w in ipairs(windows[i]) do
    local nth = redis.call('ZREVRANGEBYSCORE', key, '+inf', '(' .. (now - w[1]), 'WITHSCORES', 'LIMIT', w[2] - 1, 1)
    if nth[2] then wait = math.max(wait, tonumber(nth[2]) + w[1] - now) end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local longest = 0
  for _, w in ipairs(windows[i]) do longest = math.max(longest, w[1]) end
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
  redis.call('PEXPIRE', key, longest)
end
return 0`;

// KEYS[1]: the key's hash. ARGV: now, forget-before, ttl ms. Answers the new count.
const RECORD_FAILURE = `
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
local failures = 1
if last and last >= tonumber(ARGV[2]) then
  failures = tonumber(redis.call('HGET', KEYS[1], 'failures')) + 1
end
redis.call('HSET', KEYS[1], 'failures', failures, 'last', ARGV[1])
redis.call('HSETNX', KEYS[1], 'blocked', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return failures`;

// Redis answers integers only from Lua; every time here is an integer number of ms.
type LimitRedis = Redis & {
  takeCodePlace(...args: (string | number)[]): Promise<number>;
  recordFailure(key: string, now: number, forgetBefore: number, ttl: number): Promise<number>;
};

export function createRedisLimitStore(
  url: string,
  options: { keyPrefix?: string; onError?: (error: Error) => void } = {},
): LimitStore {
  const prefix = options.keyPrefix ?? 'vakt:';
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail closed, and at once, while Redis is away: a command is not queued but throws, the
    // request ends in the server's error handler (the localised "An error has occurred" page with
    // a support reference; the cause only in the log) and no code is sent, no password checked.
    // Failing open would turn an outage into a window for SMS pumping and unthrottled guessing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    commandTimeout: 5000,
  }) as LimitRedis;
  redis.defineCommand('takeCodePlace', { lua: TAKE_CODE_PLACE });
  redis.defineCommand('recordFailure', { numberOfKeys: 1, lua: RECORD_FAILURE });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    // Reconnection repeats the error; one report per outage is enough.
    if (!lastError) options.onError?.(error);
    lastError = error;
  });
  redis.on('ready', () => {
    lastError = undefined;
  });

  const codeKey = (tenant: string, counter: CodeCounter) =>
    `${prefix}codes:${tenant}:${counter.by}:${counter.value}`;
  const throttleKey = (tenant: string, key: string) => `${prefix}throttle:${tenant}:${key}`;

  return {
    async takeCodePlace(tenant, counters, id, now) {
      const used = counters.filter((c) => c.windows.length > 0);
      if (used.length === 0) return undefined;
      const windows = used.map((c) => c.windows.map((w) => [w.seconds * 1000, w.max]));
      const wait = await redis.takeCodePlace(
        used.length,
        ...used.map((c) => codeKey(tenant, c)),
        now,
        id,
        JSON.stringify(windows),
      );
      return wait > 0 ? wait : undefined;
    },
    async returnCodePlace(tenant, counters, id) {
      if (counters.length === 0) return;
      const pipeline = redis.multi();
      for (const counter of counters) pipeline.zrem(codeKey(tenant, counter), id);
      await pipeline.exec();
    },
    async findGuessFailures(tenant, keys) {
      // One round trip for all the keys: this is on every login's path.
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.hmget(throttleKey(tenant, key), 'failures', 'last', 'blocked');
      const answers = (await pipeline.exec()) ?? [];
      const rows: ThrottleRow[] = [];
      answers.forEach(([error, fields], i) => {
        if (error) throw error;
        const [failures, last, blocked] = fields as (string | null)[];
        if (failures === null || failures === undefined || last === null || last === undefined) return;
        rows.push({
          key: keys[i]!,
          failures: Number(failures),
          last_failure_at: Number(last),
          blocked_until: Number(blocked ?? last),
        });
      });
      return rows;
    },
    async recordGuessFailure(tenant, key, now, waitAfter, forgetAfterMs) {
      const name = throttleKey(tenant, key);
      const failures = await redis.recordFailure(name, now, now - forgetAfterMs, forgetAfterMs);
      const wait = waitAfter(failures);
      if (wait > 0) {
        await redis
          .multi()
          .hset(name, 'blocked', now + wait)
          .pexpire(name, Math.max(forgetAfterMs, wait))
          .exec();
      }
      return failures;
    },
    async clearGuessFailures(tenant, keys) {
      if (keys.length > 0) await redis.del(...keys.map((key) => throttleKey(tenant, key)));
    },
    async connect() {
      try {
        await redis.connect();
        await redis.ping();
      } catch (error) {
        redis.disconnect();
        // The host only: the URL may hold a password.
        const where = URL.canParse(url) ? new URL(url).host || 'localhost' : 'the given address';
        throw new ConfigError(
          `VAKT_REDIS_URL: Redis did not answer at ${where} (${(lastError ?? (error as Error)).message})`,
        );
      }
    },
    async close() {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
