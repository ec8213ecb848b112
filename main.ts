// dirsync: the API and the worker in one process (`npm start`).
import { loadEnvFile } from './common/env-file.ts';
import { runMain } from './service.ts';

loadEnvFile();
await runMain({ api: true, worker: true });
