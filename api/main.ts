// dirsync API only (`npm run start:api`): webhooks, health, metrics, admin.
import { runMain } from '../service.ts';

await runMain({ api: true, worker: false });
