// The fake WorkOS in a worker thread, so a benchmark's client (poller, drain) does
// not share its event loop with the server it measures against. Seeds a history,
// serves it, and answers "shape of organization X" for checking the result.
//   workerData: { count, organizations, seed }
//   posts:      { type: 'ready', env, events, organizations }
//   accepts:    { type: 'shape', id, organizationId } → { type: 'shape', id, shape }
//               { type: 'close' } → { type: 'closed' }
import { parentPort, workerData } from 'node:worker_threads';
import { upstreamShape } from './compare.ts';
import { seedHistory } from './seed.ts';
import { startFakeWorkOS } from './server.ts';
import { FakeWorkOSStore } from './store.ts';

export interface ThreadData {
  count: number;
  organizations: number;
  seed?: number;
}

export type ThreadRequest =
  | { type: 'shape'; id: number; organizationId: string }
  | { type: 'close' };

const data = workerData as ThreadData;
const port = parentPort!;
const store = new FakeWorkOSStore();
seedHistory(store, data);
const fake = await startFakeWorkOS({ store });
const organizations = [...new Set([...store.directories.values()].map((d) => d.organization_id))];

port.on('message', async (message: ThreadRequest) => {
  if (message.type === 'shape') {
    port.postMessage({
      type: 'shape',
      id: message.id,
      shape: upstreamShape(store, message.organizationId),
    });
  } else if (message.type === 'close') {
    await fake.close();
    port.postMessage({ type: 'closed' });
    port.close();
  }
});
port.postMessage({ type: 'ready', env: fake.env, events: store.events.length, organizations });
