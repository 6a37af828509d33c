// Keys derived from the deployment secret (HKDF, one per purpose), and authenticated encryption
// for what must be stored recoverably: signing keys and client secrets.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

export type KeyPurpose = 'cookies' | 'csrf' | 'encryption' | 'codes' | 'throttle' | 'session-refs';

export interface SecretBox {
  derive(purpose: KeyPurpose): Buffer;
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** Keyed hash for tokens that are looked up or compared. */
  mac(purpose: KeyPurpose, value: string): string;
  macEquals(purpose: KeyPurpose, value: string, expected: string): boolean;
}

export function createSecretBox(secret: string): SecretBox {
  const cache = new Map<KeyPurpose, Buffer>();
  const derive = (purpose: KeyPurpose): Buffer => {
    let key = cache.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', secret, 'vakt', `vakt:${purpose}`, 32));
      cache.set(purpose, key);
    }
    return key;
  };
  const mac = (purpose: KeyPurpose, value: string) =>
    createHmac('sha256', derive(purpose)).update(value).digest('base64url');
  return {
    derive,
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derive('encryption'), iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        'v1',
        iv.toString('base64url'),
        body.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    decrypt(ciphertext) {
      const [version, iv, body, tag] = ciphertext.split('.');
      if (version !== 'v1' || !iv || !body || !tag) throw new Error('unknown ciphertext format');
      const decipher = createDecipheriv('aes-256-gcm', derive('encryption'), Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
    mac,
    macEquals(purpose, value, expected) {
      const actual = Buffer.from(mac(purpose, value));
      const wanted = Buffer.from(expected);
      // Constant-time: a CSRF token must not leak how many characters matched.
      return actual.length === wanted.length && timingSafeEqual(actual, wanted);
    },
  };
}
