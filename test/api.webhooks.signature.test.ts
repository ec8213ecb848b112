// The WorkOS-Signature check on its own: strict parsing, the tolerance on both sides
// of now, every secret of a rotation, and any change to the body or header refused.

import { createHmac } from 'node:crypto';
import { WorkOS } from '@workos-inc/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  createSignatureVerifier,
  SignatureError,
  type SignatureFailure,
} from '../api/webhooks/verify-signature.ts';
import { signatureHeader } from './support/webhooks.ts';

const NOW = 1_800_000_000_000;
const TOLERANCE = 180_000;
const verifier = (secrets = ['whsec_a']) =>
  createSignatureVerifier({ secrets, toleranceMs: TOLERANCE, now: () => NOW });

async function failure(run: Promise<unknown>): Promise<SignatureFailure | 'accepted'> {
  try {
    await run;
    return 'accepted';
  } catch (err) {
    if (err instanceof SignatureError) return err.reason;
    throw err;
  }
}

const BODY = '{"id":"event_1","event":"dsync.user.created"}';
const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('verify WorkOS-Signature', () => {
  it('accepts timestamps up to the tolerance on either side of now, and no further', async () => {
    const verify = verifier();
    const at = async (t: number) =>
      failure(verify(bytes(BODY), await signatureHeader(BODY, 'whsec_a', t)));
    expect(await at(NOW)).toBe('accepted');
    expect(await at(NOW - TOLERANCE)).toBe('accepted');
    expect(await at(NOW + TOLERANCE)).toBe('accepted');
    expect(await at(NOW - TOLERANCE - 1)).toBe('stale');
    expect(await at(NOW + TOLERANCE + 1)).toBe('future');
  });

  it('accepts a signature made with any configured secret', async () => {
    const verify = verifier(['whsec_old', 'whsec_new']);
    for (const secret of ['whsec_old', 'whsec_new']) {
      expect(await failure(verify(bytes(BODY), await signatureHeader(BODY, secret, NOW)))).toBe(
        'accepted',
      );
    }
    expect(await failure(verify(bytes(BODY), await signatureHeader(BODY, 'whsec_x', NOW)))).toBe(
      'mismatch',
    );
  });

  it('refuses headers that are missing or not exactly t=<ms>, v1=<hex>', async () => {
    const verify = verifier();
    const valid = await signatureHeader(BODY, 'whsec_a', NOW);
    const v1 = valid.split('v1=')[1]!;
    expect(await failure(verify(bytes(BODY), undefined))).toBe('missing');
    expect(await failure(verify(bytes(BODY), ''))).toBe('missing');
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
      expect(await failure(verify(bytes(BODY), header)), header).toBe('malformed');
    }
    expect(await failure(verify(bytes(BODY), `t=${NOW},v1=${v1}`))).toBe('accepted');
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
          expect(await failure(verify(bytes(body), header))).toBe('accepted');
          const i = position % body.length;
          const changed = `${body.slice(0, i)}${body[i] === 'a' ? 'b' : 'a'}${body.slice(i + 1)}`;
          expect(await failure(verify(bytes(changed), header))).toBe('mismatch');
          const otherTime = header.replace(/^t=(\d+)/, (_, t) => `t=${Number(t) + 1}`);
          expect(await failure(verify(bytes(body), otherTime))).toBe('mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it("computes the stock SDK's signature, through the SDK's own signature code (property)", async () => {
    const stock = new WorkOS({ clientId: 'dirsync-tests-stock' }).webhooks;
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.nat(),
        async (body, secret, t) => {
          expect(await computeSignature(t, body, secret)).toBe(
            await stock.computeSignature(t, body, secret),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks bytes that are not UTF-8 as bytes: authentic ones resolve unreadable', async () => {
    const verify = verifier(['whsec_bytes']);
    const body = Buffer.concat([
      Buffer.from('{"id":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const hmac = createHmac('sha256', 'whsec_bytes').update(`${NOW}.`).update(body).digest('hex');
    await expect(verify(body, `t=${NOW}, v1=${hmac}`)).resolves.toBeUndefined();
    const other = createHmac('sha256', 'whsec_other').update(`${NOW}.`).update(body).digest('hex');
    expect(await failure(verify(body, `t=${NOW}, v1=${other}`))).toBe('mismatch');
    // What the SDK would sign for these bytes (decoded leniently) is not what was sent.
    const lenient = await signatureHeader(body.toString('utf8'), 'whsec_bytes', NOW);
    expect(await failure(verify(body, lenient))).toBe('mismatch');
    await expect(
      verify(bytes(BODY), await signatureHeader(BODY, 'whsec_bytes', NOW)),
    ).resolves.toBe(BODY);
  });
});
