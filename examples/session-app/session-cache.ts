// A process-local cache of session validity, as an application would keep one so
// that most requests need no database read. A revocation message marks a session
// invalid (never deleted, so a database check that was in flight when the message
// came cannot put it back as valid); an entry lives `ttlMs`, which bounds how stale
// a valid entry can get if every message were lost.
export class SessionCache {
  readonly #entries = new Map<string, { valid: boolean; until: number }>();
  readonly #ttlMs: number;

  constructor(ttlMs = 60_000) {
    this.#ttlMs = ttlMs;
  }

  get(sessionId: string): boolean | undefined {
    const entry = this.#entries.get(sessionId);
    if (!entry) return undefined;
    if (entry.until < Date.now()) {
      this.#entries.delete(sessionId);
      return undefined;
    }
    return entry.valid;
  }

  /** Caches a database answer; a revocation cached meanwhile wins. */
  remember(sessionId: string, valid: boolean): void {
    if (valid && this.get(sessionId) === false) return;
    this.#entries.set(sessionId, { valid, until: Date.now() + this.#ttlMs });
  }

  /** A revocation message: idempotent, so a redelivery changes nothing. */
  revoke(sessionId: string): void {
    this.#entries.set(sessionId, { valid: false, until: Date.now() + this.#ttlMs });
  }

  /** The listener missed messages (trimmed while away): trust nothing cached. */
  clear(): void {
    this.#entries.clear();
  }
}
