// dirsync worker only (`npm run start:worker`): drain, sweeper, poller, reconciler.
import { runMain } from '../service.ts';

await runMain({ api: false, worker: true });
