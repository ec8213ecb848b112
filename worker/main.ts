// dirsync worker only (`npm run start:worker`): drain, sweeper, poller, reconciler.
import { loadEnvFile } from '../common/env-file.ts';
import { runMain } from '../service.ts';

loadEnvFile();
await runMain({ api: false, worker: true });
