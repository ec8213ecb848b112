// The admin surface's answer to a refused operator action: 404 for an unknown
// organization or event, 409 for an event that cannot be replayed.
import type { FastifyRequest } from 'fastify';
import { type OperatorDeps, OperatorError } from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import { triggerDrain } from '../../common/triggers.ts';
import { AppError } from '../errors.ts';
import { operatorOf } from './auth.ts';

export async function operatorAction<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OperatorError) {
      throw err.code === 'not_replayable'
        ? new AppError(409, 'conflict', err.message)
        : new AppError(404, 'not_found', err.message);
    }
    throw err;
  }
}

/** The actions' dependencies, acting as the request's operator. */
export function operatorDeps(resources: Resources, request: FastifyRequest): OperatorDeps {
  return {
    db: resources.db,
    actor: { name: operatorOf(request), via: 'admin_api' },
    triggerDrain: (organizationId) => triggerDrain(resources.drainQueue, organizationId),
    onTriggerError: (err, orgId) =>
      resources.logger.warn({ err, orgId }, 'drain trigger failed; the sweeper will retry'),
  };
}
