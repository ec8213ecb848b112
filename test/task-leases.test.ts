// Leases of the tasks that run once at a time across processes (poll, reconcile).
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { releaseLease, takeLease, withTaskLease } from '../db/task-leases.ts';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('task_leases');

describe('task leases', () => {
  it('runs the task for one holder at a time; the other returns at once', async () => {
    let inside = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = withTaskLease(ctx.db, 'poll:x', async () => {
      inside++;
      await held;
      return 'first';
    });
    await expect.poll(() => inside).toBe(1);
    expect(await withTaskLease(ctx.db, 'poll:x', async () => 'second')).toEqual({ locked: false });
    // Another name is another lease.
    expect(await withTaskLease(ctx.db, 'poll:y', async () => 'other')).toEqual({
      locked: true,
      value: 'other',
    });
    release();
    expect(await first).toEqual({ locked: true, value: 'first' });
    // Released at the end: the next one runs.
    expect(await withTaskLease(ctx.db, 'poll:x', async () => 'third')).toEqual({
      locked: true,
      value: 'third',
    });
  });

  it("takes over a dead holder's lease once it has lapsed, not before", async () => {
    expect(await takeLease(ctx.db, 'reconcile:o', 'dead-process', 60_000)).toBe(true);
    expect(await takeLease(ctx.db, 'reconcile:o', 'me', 60_000)).toBe(false);
    await ctx.db
      .updateTable('task_leases')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('name', '=', 'reconcile:o')
      .execute();
    expect(await takeLease(ctx.db, 'reconcile:o', 'me', 60_000)).toBe(true);
    // The dead holder's late release does not drop the new holder's lease.
    await releaseLease(ctx.db, 'reconcile:o', 'dead-process');
    expect(await takeLease(ctx.db, 'reconcile:o', 'someone', 60_000)).toBe(false);
    await releaseLease(ctx.db, 'reconcile:o', 'me');
  });

  it('is renewed while the task runs past a third of its length', async () => {
    const result = await withTaskLease(
      ctx.db,
      'poll:long',
      async () => {
        const first = await ctx.db
          .selectFrom('task_leases')
          .select('expires_at')
          .where('name', '=', 'poll:long')
          .executeTakeFirstOrThrow();
        // Wait for a renewal to move the expiry (condition, not a fixed sleep).
        await expect
          .poll(
            async () =>
              (
                await ctx.db
                  .selectFrom('task_leases')
                  .select('expires_at')
                  .where('name', '=', 'poll:long')
                  .executeTakeFirstOrThrow()
              ).expires_at.getTime(),
            { timeout: 10_000 },
          )
          .toBeGreaterThan(first.expires_at.getTime());
        return 'done';
      },
      { leaseMs: 1_500 },
    );
    expect(result).toEqual({ locked: true, value: 'done' });
  });
});
