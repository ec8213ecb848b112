// ULIDs (26 Crockford base-32 characters: 48 bits of milliseconds, 80 random bits),
// monotonic within a process: ids made later sort later, even within one
// millisecond. WorkOS ids have this form (`event_01M1EM…`); the inbox orders events
// of the same instant by id, so ids made in sequence must sort in sequence.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_MAX = (1n << 80n) - 1n;

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export function createUlidFactory(): (time?: number) => string {
  let lastTime = -1;
  let lastRandom = 0n;
  return (time = Date.now()) => {
    if (time <= lastTime && lastRandom < RANDOM_MAX) {
      lastRandom += 1n;
    } else {
      lastTime = Math.max(time, lastTime + (time <= lastTime ? 1 : 0));
      // Keep the top bit clear so increments within one millisecond cannot overflow.
      lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n;
    }
    return encode(BigInt(lastTime), 10) + encode(lastRandom, 16);
  };
}

/** The process-wide monotonic ULID source. */
export const ulid = createUlidFactory();
