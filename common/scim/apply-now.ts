// How the SCIM API gets its writes applied before it answers: a function the
// process wiring passes in (the worker's drain, run in this process), so the API
// never imports the worker. `busy`: another process holds the organization's
// drain lock (its drain applies the events; the caller waits for them).
export type ApplyOutcome = 'done' | 'busy' | 'paused';
export type ApplyNow = (organizationId: string) => Promise<ApplyOutcome>;
