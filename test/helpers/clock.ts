/**
 * A server clock a test moves forward instead of sleeping: pass `now` to startTestServer's
 * `now` option, then `advance` past an expiry or a grace period. It starts at the real time
 * and keeps running with it, so what a test computes from Date.now() stays close.
 */
export function movableClock() {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance(ms: number) {
      if (ms < 0) throw new Error('the clock only moves forward');
      offset += ms;
    },
  };
}
