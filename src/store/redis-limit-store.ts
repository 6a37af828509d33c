// The limits in Redis (VAKT_REDIS_URL), shared by every process: the same contract and figures
// as the database backend, each change one Lua script, so concurrent processes cannot overshoot.
//
// The codes themselves (with their tries) stay in the database; Redis keeps the places they
// hold in the limits, one sorted set per counter (member: code id, score: when the place was
// taken), and the guess counts, one hash per key. A code's place and a guess's try are both
// taken atomically before the code is sent or the guess checked, and given back when the
// delivery fails or the guess was right, as the database backend does.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { ConfigError } from '../config/errors.js';
import type { CodeCounter, LimitStore } from './limit-store.js';

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

// KEYS: one hash per guess key. ARGV: now, forget-before, first wait ms, longest wait ms, ttl
// ms, then each key's free failures. Answers 0 when a guess was taken on every key, or the ms
// the longest-waiting key must still wait (then nothing is taken).
const TAKE_GUESS = `
local now = tonumber(ARGV[1])
local wait = 0
local counts = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'failures', 'last', 'blocked')
  local failures = 0
  if h[2] and tonumber(h[2]) >= tonumber(ARGV[2]) then
    failures = tonumber(h[1])
    wait = math.max(wait, tonumber(h[3] or h[2]) - now)
  end
  counts[i] = failures + 1
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local over = counts[i] - tonumber(ARGV[5 + i])
  local w = 0
  if over >= 0 then w = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ over) end
  local blocked = 0
  if w > 0 then blocked = now + w end
  redis.call('HSET', key, 'failures', counts[i], 'last', ARGV[1], 'blocked', string.format('%.0f', blocked))
  redis.call('PEXPIRE', key, math.max(tonumber(ARGV[5]), w))
end
return 0`;

// KEYS: the hashes of the keys to forget, then of those given a try back; ARGV[1]: how many to
// forget. Forgotten hashes go; the others count one failure less with no wait (at 0 they go).
const GIVE_BACK_GUESS = `
local forget = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local failures = tonumber(redis.call('HGET', key, 'failures'))
  if i <= forget or (failures and failures <= 1) then redis.call('DEL', key)
  elseif failures then redis.call('HSET', key, 'failures', failures - 1, 'blocked', 0) end
end
return 0`;

// Redis answers integers only from Lua; every time here is an integer number of ms.
type LimitRedis = Redis & {
  takeCodePlace(...args: (string | number)[]): Promise<number>;
  takeGuess(...args: (string | number)[]): Promise<number>;
  giveBackGuess(...args: (string | number)[]): Promise<number>;
};

export function createRedisLimitStore(
  url: string,
  options: { keyPrefix?: string; onError?: (error: Error) => void } = {},
): LimitStore {
  const prefix = options.keyPrefix ?? 'vakt:';
  // Loaded only when Redis is configured: it is not in memory otherwise.
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const redis = new RedisClient(url, {
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
  redis.defineCommand('takeGuess', { lua: TAKE_GUESS });
  redis.defineCommand('giveBackGuess', { lua: GIVE_BACK_GUESS });
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
    async takeGuess(tenant, keys, now, rule) {
      if (keys.length === 0) return undefined;
      const wait = await redis.takeGuess(
        keys.length,
        ...keys.map((k) => throttleKey(tenant, k.key)),
        now,
        now - rule.forgetAfterMs,
        rule.firstWaitMs,
        rule.maxWaitMs,
        rule.forgetAfterMs,
        ...keys.map((k) => k.free),
      );
      return wait > 0 ? wait : undefined;
    },
    async giveBackGuess(tenant, keys, forget = []) {
      const all = [...forget, ...keys].map((key) => throttleKey(tenant, key));
      if (all.length > 0) await redis.giveBackGuess(all.length, ...all, forget.length);
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
