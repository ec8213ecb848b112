// Ages for people: "42s", "3m 20s", "5h 2m", "3d 4h". Used by the status page and
// `dirsync status`, so an operator reads the same numbers in both.

/** Seconds from `since` to `now`, never negative; null when `since` is null. */
function ageSeconds(since: Date | null, now: Date = new Date()): number | null {
  if (since === null) return null;
  return Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));
}

export function formatSeconds(seconds: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const whole = Math.max(0, Math.floor(seconds));
  const index = units.findIndex(([, size]) => whole >= size);
  if (index === -1) return '0s';
  const [unit, size] = units[index]!;
  const next = units[index + 1];
  const head = `${Math.floor(whole / size)}${unit}`;
  if (!next) return head;
  const rest = Math.floor((whole % size) / next[1]);
  return rest > 0 ? `${head} ${rest}${next[0]}` : head;
}

/** "3m 20s ago", or `never` when there is no time. */
export function formatAgo(since: Date | null, now: Date = new Date(), never = 'never'): string {
  const seconds = ageSeconds(since, now);
  return seconds === null ? never : `${formatSeconds(seconds)} ago`;
}
