// Queue handles the API reads and feeds outside the drain trigger: the dashboard,
// the queue-count metrics and the admin resync. They share the process's producer
// Redis connection (fail-fast, so a request never waits on a lost Redis) and close
// with the server.
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { QUEUES, type QueueName } from '../common/queues.ts';
import { errorsOnce } from '../common/redis.ts';
import type { Resources } from '../common/resources.ts';

export type DirsyncQueues = Record<QueueName, Queue>;

export function openQueues(app: FastifyInstance, resources: Resources): DirsyncQueues {
  const { config, redis, logger } = resources;
  // Each kind of error once until Redis is back, not once per queue and retry.
  const report = errorsOnce(redis, logger);
  const open = (name: QueueName) => {
    const queue = new Queue(name, { connection: redis, prefix: config.REDIS_PREFIX });
    queue.on('error', (err) => report('queue error', err, { queue: name }));
    return queue;
  };
  const queues: DirsyncQueues = {
    drain: open(QUEUES.drain),
    maintenance: open(QUEUES.maintenance),
    reconcile: open(QUEUES.reconcile),
  };
  app.addHook('onClose', async () => {
    await Promise.all(Object.values(queues).map((q) => q.close().catch(() => {})));
  });
  return queues;
}
