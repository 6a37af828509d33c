// Queries on the hot path, built and compiled by Kysely once instead of on every call.
//
// Kysely turns a builder chain into an operation tree and compiles it to SQL each time it runs;
// for the few statements oidc-provider's adapter issues on every request (find, upsert, consume
// an oidc_models row), that costs as much as SQLite takes to run them. A precompiled query is
// built once with a marker in place of each argument; the compiled SQL keeps the placeholders
// and the markers say which argument goes where. It stays dialect-neutral: Kysely still writes
// the SQL for the database it is given.
//
// Each database may run precompiled queries its own faster way (`directRunners`, registered
// by openStore):
// - SQLite: outside any transaction the query runs on the connection at once, skipping
//   Kysely's connection queue; the statement is synchronous, so nothing else runs on the
//   connection meanwhile. While a transaction is open it queues behind it as any Kysely query
//   does, so it never becomes part of another request's transaction.
// - PostgreSQL: as a named prepared statement, parsed and planned once per connection.
import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';

/**
 * Runs a statement outside Kysely and returns its result, or returns undefined when Kysely
 * must run it (on SQLite: a transaction is open).
 */
export type DirectRunner = (
  sql: string,
  parameters: readonly unknown[],
) => QueryResult<unknown> | Promise<QueryResult<unknown>> | undefined;

export const directRunners = new WeakMap<object, DirectRunner>();

interface Compilable {
  compile(): CompiledQuery;
}

export type Precompiled<A> = (args: A) => Promise<QueryResult<unknown>>;

/**
 * `build` receives markers for the named arguments and must use each one only as a value (a
 * parameter), never to choose the shape of the query.
 */
export function precompile<A extends Record<string, unknown>>(
  db: Pick<Kysely<unknown>, 'executeQuery'>,
  names: readonly (keyof A & string)[],
  build: (args: A) => Compilable,
): Precompiled<A> {
  const markers = Object.fromEntries(names.map((name) => [name, `\u0000${name}\u0000`])) as A;
  const compiled = build(markers).compile();
  const slots = compiled.parameters.map((parameter) => {
    const name = names.find((n) => markers[n] === parameter);
    if (!name) throw new Error(`precompiled query has a parameter that is not an argument: ${compiled.sql}`);
    return name;
  });
  const unused = names.filter((name) => !slots.includes(name));
  if (unused.length > 0) {
    throw new Error(`precompiled query does not take ${unused.join(', ')} as parameters: ${compiled.sql}`);
  }
  const direct = directRunners.get(db);
  return async (args) => {
    const parameters = slots.map((name) => args[name]);
    return direct?.(compiled.sql, parameters) ?? db.executeQuery(CompiledQuery.raw(compiled.sql, parameters));
  };
}
