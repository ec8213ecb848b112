// dirsync worker only (`npm run start:worker`): drain, sweeper, poller, reconciler.
import { runMain } from '../common/service.ts';

await runMain({ api: false, worker: true });
