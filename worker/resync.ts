// Resyncing one organization on an operator's request (`dirsync resync`): the
// worker's reconciler behind one function that answers the way the other operator
// actions (common/operator-actions.ts) do: a result, or an error with a code the
// command line turns into its exit code. The reconciler's own error classes and the
// WorkOS client stay inside the worker; this is what a caller above it sees.
import type { Resources } from '../common/resources.ts';
import {
  MassDeletionError,
  ReconcileBusyError,
  type ReconcileProgress,
  type ReconcileResult,
  reconcileOrganization,
  UnknownOrganizationError,
} from './reconciler/reconcile-organization.ts';
import { WorkOSRequestError } from './workos/retry.ts';

export type { ReconcileProgress as ResyncProgress, ReconcileResult as ResyncResult };

export type ResyncErrorCode =
  | 'unknown_organization'
  | 'mass_deletion'
  | 'busy'
  | 'workos_request_failed';

/** A resync refused or failed for a reason an operator can act on. */
export class ResyncError extends Error {
  override name = 'ResyncError';
  readonly code: ResyncErrorCode;
  /** The refused difference, for `mass_deletion`. */
  readonly result?: ReconcileResult;
  constructor(code: ResyncErrorCode, message: string, result?: ReconcileResult) {
    super(message);
    this.code = code;
    this.result = result;
  }
}

export interface ResyncOptions {
  /** Compute and report the difference; change nothing. */
  dryRun?: boolean;
  /** Allow deprovisioning most of the organization's users at once. */
  force?: boolean;
  onProgress?: (progress: ReconcileProgress) => void;
}

function codeOf(err: unknown): ResyncErrorCode | undefined {
  if (err instanceof UnknownOrganizationError) return 'unknown_organization';
  if (err instanceof MassDeletionError) return 'mass_deletion';
  if (err instanceof ReconcileBusyError) return 'busy';
  if (err instanceof WorkOSRequestError) return 'workos_request_failed';
  return undefined;
}

/** Reconciles `organizationId` against WorkOS now; see reconcile-organization.ts. */
export async function resyncOrganization(
  resources: Pick<Resources, 'config' | 'db' | 'drainQueue' | 'logger'>,
  organizationId: string,
  options: ResyncOptions = {},
): Promise<ReconcileResult> {
  try {
    return await reconcileOrganization(resources, organizationId, options);
  } catch (err) {
    const code = codeOf(err);
    if (code === undefined) throw err;
    const result = err instanceof MassDeletionError ? err.result : undefined;
    throw new ResyncError(code, (err as Error).message, result);
  }
}
