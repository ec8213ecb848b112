// dirsync: the API and the worker in one process (`npm start`).
import { runMain } from './service.ts';

await runMain({ api: true, worker: true });
