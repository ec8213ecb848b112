// Webhook health for the status page: when deliveries last arrived and why some were
// refused (401s by reason: a mismatch after a secret rotation looks different from
// stale timestamps or noise). Webhooks are counted by the process that took them
// (its metrics), so with several API processes each page shows its own; the Events
// API's last poll is in Postgres (poll_cursors), whichever process polled.
import type { Metrics } from '../../common/metrics.ts';

export interface WebhookHealth {
  /** When this process last stored a webhook delivery; null: none since it started. */
  lastReceivedAt: Date | null;
  /** Deliveries this process accepted (new, duplicate or ignored type). */
  accepted: number;
  /** Refused deliveries by `<status> <reason>`, most first. */
  rejected: Array<{ status: string; reason: string; count: number }>;
  /** When the process started counting. */
  since: Date;
}

const started = new Date();

export async function webhookHealth(metrics: Metrics): Promise<WebhookHealth> {
  const [deliveries, last] = await Promise.all([
    metrics.webhooks.get(),
    metrics.webhookLastReceived.get(),
  ]);
  let accepted = 0;
  const rejected: WebhookHealth['rejected'] = [];
  for (const { labels, value } of deliveries.values) {
    const outcome = String(labels.outcome ?? '');
    if (outcome.startsWith('rejected_')) {
      rejected.push({
        status: outcome.slice('rejected_'.length),
        reason: String(labels.reason ?? 'unknown'),
        count: value,
      });
    } else accepted += value;
  }
  rejected.sort((a, b) => b.count - a.count);
  const seconds = last.values[0]?.value ?? 0;
  return {
    lastReceivedAt: seconds > 0 ? new Date(seconds * 1000) : null,
    accepted,
    rejected,
    since: started,
  };
}
