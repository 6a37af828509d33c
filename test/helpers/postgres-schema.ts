// A throw-away PostgreSQL schema, selected through the connection's search_path: how tests and
// the benchmark get a database of their own inside the one PostgreSQL database they are given.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchSchema {
  /** A database URL whose connections use only the new schema. */
  url: string;
  drop(): Promise<void>;
}

export async function createScratchSchema(adminUrl: string, prefix: string): Promise<ScratchSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`create schema ${schema}`));
  const url = new URL(adminUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.href,
    drop: () => withClient(adminUrl, (client) => client.query(`drop schema if exists ${schema} cascade`)),
  };
}

async function withClient(url: string, use: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}
