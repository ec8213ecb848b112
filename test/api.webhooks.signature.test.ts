// The WorkOS-Signature check on its own: strict parsing, the tolerance on both sides
// of now, every secret of a rotation, and any change to the body or header refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSignatureVerifier,
  SignatureError,
  type SignatureFailure,
} from '../api/webhooks/verify-signature.ts';
import { signatureHeader } from './support/webhooks.ts';

const NOW = 1_800_000_000_000;
const TOLERANCE = 180_000;
const verifier = (secrets = ['whsec_a']) =>
  createSignatureVerifier({ secrets, toleranceMs: TOLERANCE, now: () => NOW });

async function failure(run: Promise<void>): Promise<SignatureFailure | 'accepted'> {
  try {
    await run;
    return 'accepted';
  } catch (err) {
    if (err instanceof SignatureError) return err.reason;
    throw err;
  }
}

const BODY = '{"id":"event_1","event":"dsync.user.created"}';

describe('verify WorkOS-Signature', () => {
  it('accepts timestamps up to the tolerance on either side of now, and no further', async () => {
    const verify = verifier();
    const at = async (t: number) =>
      failure(verify(BODY, await signatureHeader(BODY, 'whsec_a', t)));
    expect(await at(NOW)).toBe('accepted');
    expect(await at(NOW - TOLERANCE)).toBe('accepted');
    expect(await at(NOW + TOLERANCE)).toBe('accepted');
    expect(await at(NOW - TOLERANCE - 1)).toBe('stale');
    expect(await at(NOW + TOLERANCE + 1)).toBe('future');
  });

  it('accepts a signature made with any configured secret', async () => {
    const verify = verifier(['whsec_old', 'whsec_new']);
    for (const secret of ['whsec_old', 'whsec_new']) {
      expect(await failure(verify(BODY, await signatureHeader(BODY, secret, NOW)))).toBe(
        'accepted',
      );
    }
    expect(await failure(verify(BODY, await signatureHeader(BODY, 'whsec_x', NOW)))).toBe(
      'mismatch',
    );
  });

  it('refuses headers that are missing or not exactly t=<ms>, v1=<hex>', async () => {
    const verify = verifier();
    const valid = await signatureHeader(BODY, 'whsec_a', NOW);
    const v1 = valid.split('v1=')[1]!;
    expect(await failure(verify(BODY, undefined))).toBe('missing');
    expect(await failure(verify(BODY, ''))).toBe('missing');
    for (const header of [
      `t=${NOW}abc, v1=${v1}`,
      `t=${NOW}.5, v1=${v1}`,
      `t=-${NOW}, v1=${v1}`,
      `t=, v1=${v1}`,
      `t=${NOW}`,
      `v1=${v1}, t=${NOW}`,
      `t=${NOW}, v0=${v1}`,
      `t=${NOW}, v1=${v1.slice(2)}`,
      `t=${NOW}, v1=${v1}, v1=${v1}`,
      `t=${NOW}, v1=${v1.replace(/.$/, 'g')}`,
    ]) {
      expect(await failure(verify(BODY, header)), header).toBe('malformed');
    }
    expect(await failure(verify(BODY, `t=${NOW},v1=${v1}`))).toBe('accepted');
  });

  it('refuses any change to the signed body or timestamp (property)', async () => {
    const verify = verifier(['whsec_prop']);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: -TOLERANCE + 1, max: TOLERANCE - 1 }),
        async (body, position, skew) => {
          const header = await signatureHeader(body, 'whsec_prop', NOW + skew);
          expect(await failure(verify(body, header))).toBe('accepted');
          const i = position % body.length;
          const changed = `${body.slice(0, i)}${body[i] === 'a' ? 'b' : 'a'}${body.slice(i + 1)}`;
          expect(await failure(verify(changed, header))).toBe('mismatch');
          const otherTime = header.replace(/^t=(\d+)/, (_, t) => `t=${Number(t) + 1}`);
          expect(await failure(verify(body, otherTime))).toBe('mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });
});
