/**
 * Polls `probe` until it gives something truthy (a log line, a banner, a URL) and returns it;
 * fails naming `what` after `timeoutMs` (by default within the suite's 30 s test timeout, so the
 * failure says what it waited for).
 */
export async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
