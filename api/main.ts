// dirsync API only (`npm run start:api`): webhooks, health, metrics, admin.
import { loadEnvFile } from '../common/env-file.ts';
import { runMain } from '../service.ts';

loadEnvFile();
await runMain({ api: true, worker: false });
