// Queue names and the one map from job name to payload type, shared by the
// producers (api, sweeper, poller) and the workers so that the two cannot drift.
// Jobs carry ids only: never event data or personal data.

export const QUEUES = {
  /** Per-organization triggers: "drain organization X". */
  drain: 'drain',
  /** Short scheduled upkeep: the sweeper, the Events API poller, inbox pruning. */
  maintenance: 'maintenance',
  /**
   * Reconciliations against the directory API: long (4 requests/s per directory),
   * so on a queue of their own, where they cannot hold up the sweeper.
   */
  reconcile: 'reconcile',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobPayloads {
  'drain-organization': { organizationId: string };
  sweep: Record<string, never>;
  poll: Record<string, never>;
  reconcile: { organizationId?: string };
  'prune-inbox': Record<string, never>;
}

/** The deduplication id of an organization's drain trigger. */
export function drainJobId(organizationId: string): string {
  return `drain:${organizationId}`;
}
