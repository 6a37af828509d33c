// Real database faults for tests: a trigger that makes the database itself refuse a write, on
// whichever of SQLite and PostgreSQL the running vakt uses, and what the person must then see.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Vakt } from '../../src/composition.js';
import { alertText, type Response } from './http-client.js';

const REFUSAL = 'password updates refused by the test';

/** Runs `act` while the database refuses every change of a password hash. */
export async function whilePasswordUpdatesRefused<T>(vakt: Vakt, act: () => Promise<T>): Promise<T> {
  const { db, dialect } = vakt.store;
  if (dialect === 'sqlite') {
    await sql`create trigger refuse_password_update before update of secret_hash on credentials
      begin select raise(abort, ${sql.lit(REFUSAL)}); end`.execute(db);
  } else {
    await sql`create function refuse_password_update() returns trigger language plpgsql as $$
      begin raise exception ${sql.lit(REFUSAL)}; end $$`.execute(db);
    await sql`create trigger refuse_password_update before update of secret_hash on credentials
      for each row execute function refuse_password_update()`.execute(db);
  }
  try {
    return await act();
  } finally {
    if (dialect === 'sqlite') await sql`drop trigger refuse_password_update`.execute(db);
    else await sql`drop function refuse_password_update() cascade`.execute(db);
  }
}

/** The page after a refused update: 503, the message (in English), the form again, no detail. */
export function assertCouldNotUpdate(page: Response, form: RegExp): void {
  assert.equal(page.status, 503);
  assert.equal(
    alertText(page),
    'We could not update your password. Your old password still works. Try again in a little while.',
  );
  assert.match(page.body, form, 'the form, to try again');
  assert.ok(!page.body.includes(REFUSAL) && !/\n\s+at /.test(page.body), 'no error detail or stack trace');
}
