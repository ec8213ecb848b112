// Ids of what the SCIM producer makes (directories, users, groups, events): time in
// milliseconds, then a per-process sequence, then randomness, so ids made later in a
// process sort later (the inbox orders events of one instant by id).
import { randomBytes } from 'node:crypto';

let lastTime = 0;
let sequence = 0;

export function monotonicId(): string {
  const now = Date.now();
  if (now > lastTime) {
    lastTime = now;
    sequence = 0;
  } else sequence += 1;
  return `${lastTime.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBytes(6).toString('hex')}`;
}
