// Authorisation rules. A token of one clinic sees nothing of another; devices never watch.
import type { Claims } from './claims.js';

/** What a dashboard wants to follow: a clinic, or a session (with the clinic it belongs to). */
export interface SubscribeTarget {
  readonly clinic: string;
  readonly sessionId?: string;
}

/** Therapists and admins of the target's clinic may watch it; devices never. */
export function canSubscribe(claims: Claims, target: SubscribeTarget): boolean {
  return (claims.role === 'therapist' || claims.role === 'admin') && claims.clinic === target.clinic;
}

/** A device may stream for the patient its token names; an admin (of its own clinic) for anyone. */
export function canIngest(claims: Claims, patientId: string): boolean {
  if (claims.role === 'admin') return true;
  return claims.role === 'device' && claims.patient === patientId;
}
