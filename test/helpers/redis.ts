// Redis for the tests of the Redis limit store: used when it answers at VAKT_TEST_REDIS_URL, and
// always in CI (CI=true), where a missing Redis fails the run instead of skipping. Each user
// takes a key prefix of its own and deletes its keys afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.VAKT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisAnswers(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

const redisProblem = await redisAnswers();
if (redisProblem && process.env.CI === 'true') {
  throw new Error(`Redis is required in CI but did not answer at ${REDIS_URL}: ${redisProblem}`);
}

/** Why the Redis tests are skipped here, or undefined when they run. */
export const redisSkip = redisProblem
  ? `Redis not reachable at ${REDIS_URL} (${redisProblem}): SKIPPED`
  : undefined;
if (redisSkip) console.log(`# ${redisSkip}`);

export interface TestRedis {
  url: string;
  /** A key prefix no other test uses. */
  prefix: string;
  /** A client for looking at the keys. */
  client: Redis;
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix. */
  drop(): Promise<void>;
}

export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `vakt-test:${randomBytes(6).toString('hex')}:`;
  const client = new Redis(REDIS_URL);
  const keys = () => client.keys(`${prefix}*`);
  return {
    url: REDIS_URL,
    prefix,
    client,
    keys,
    async drop() {
      const found = await keys();
      if (found.length > 0) await client.del(...found);
      client.disconnect();
    },
  };
}
