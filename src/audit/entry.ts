/** Events to stored JSON and back: the same text in every backend. */
import { BatonError } from '../core/errors.ts';
import type { AuthEvent } from '../sessions/events.ts';

/** The event as stored: every field, as JSON (events carry no token, secret or password). */
export function eventJson(event: AuthEvent): string {
  return JSON.stringify(event);
}

/**
 * A stored event, parsed. Text that is not an event (written by hand, or
 * damaged) throws: a reader must not mistake it for history.
 */
export function parseEvent(text: string, id: string): AuthEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BatonError('internal_error', `audit entry ${id} is not JSON`);
  }
  const event = value as Partial<Record<keyof AuthEvent, unknown>> | null;
  if (
    typeof event !== 'object' ||
    event === null ||
    Array.isArray(event) ||
    typeof event.type !== 'string' ||
    typeof event.time !== 'number'
  ) {
    throw new BatonError('internal_error', `audit entry ${id} is not an event`);
  }
  // Our own writes: the union's fields as the emitting Baton made them (a newer one may know more types).
  return Object.freeze(event) as AuthEvent;
}
