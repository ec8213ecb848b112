// The one key of a group membership in a map or set: "<group id>:<user id>". The
// drain's snapshot keys memberships by the application's uuids, the reconciler by
// WorkOS ids; the audit log names a membership by it too (subject_id), so the
// format is stored data and must not change.

export function membershipKey(groupId: string, userId: string): string {
  return `${groupId}:${userId}`;
}

/** The group and user ids of a membershipKey (neither kind of id contains ':'). */
export function membershipOf(key: string): [groupId: string, userId: string] {
  const at = key.indexOf(':');
  return [key.slice(0, at), key.slice(at + 1)];
}
