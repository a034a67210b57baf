/**
 * The local server's clock. A scaled clock runs `scale` times faster than the wall clock from
 * the moment it is made, so that the Batch API's 24-hour window and 30-day file expiry pass in
 * seconds in tests and experiments (`serve --clock-scale 86400`: a day a second).
 */
export interface Clock {
  /** Milliseconds since the epoch, as the server sees them. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function scaledClock(scale: number, start = Date.now()): Clock {
  if (!(Number.isFinite(scale) && scale > 0)) throw new RangeError(`clock scale must be a positive number, got ${scale}`);
  if (scale === 1) return systemClock;
  return { now: () => start + Math.floor((Date.now() - start) * scale) };
}

/** A clock's time in whole seconds (the API's timestamps). */
export function seconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
