// Token claims: the schema is the type. A device token is scoped to one patient.
import { z } from 'zod';
import { Id } from '../protocol/fields.js';

/** Who holds the token: an iPad (ingest for one patient), a therapist (live view), or an admin. */
export const Role = z.enum(['device', 'therapist', 'admin']);
export type Role = z.infer<typeof Role>;

/** JWT claims the server relies on (other registered claims are ignored). */
export const Claims = z
  .object({
    /** Clinic the holder belongs to; a token sees nothing of another clinic. */
    clinic: Id,
    /** Role of the holder. */
    role: Role,
    /** Patient a device token may stream for (required for `device`). */
    patient: Id.optional(),
    /** Subject (user or device id), for audit logs. */
    sub: z.string().min(1).max(256).optional(),
    // NumericDate (RFC 7519 §2) may be fractional; other issuers do send that.
    /** Expiry, seconds since the epoch. */
    exp: z.number().min(0),
    /** Issue time, seconds since the epoch. */
    iat: z.number().min(0),
    /** Not-before, seconds since the epoch. */
    nbf: z.number().min(0).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.role === 'device' && c.patient === undefined) {
      ctx.addIssue({ code: 'custom', path: ['patient'], message: 'a device token must name its patient' });
    }
    if (c.exp <= c.iat) ctx.addIssue({ code: 'custom', path: ['exp'], message: 'exp must be after iat' });
  });
export type Claims = z.infer<typeof Claims>;
