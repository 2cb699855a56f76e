// Auth: JWT with node:crypto, token extraction at upgrade, authorisation rules. Server-side only.
export * from './claims.js';
export * from './keys.js';
export * from './jwt.js';
export * from './upgrade-token.js';
export * from './authorize.js';
export { BEARER_PREFIX, SUBPROTOCOL, bearerProtocols } from '../protocol/subprotocol.js';
