// The cluster admin's bearer token: what the admin kubeconfig's user carries, as a real
// cluster's admin kubeconfig carries a credential. `cluster up` draws it (256 random bits),
// keeps it in the cluster's private state and hands it to the API server, which
// authenticates it as the user below (group system:masters: everything is allowed), like
// kube-apiserver's static token file. Pure: the token is an argument.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The user the admin token authenticates as (TokenReview's shape). */
export const ADMIN_USER = {
  username: 'ambient-admin',
  uid: 'ambient-admin',
  groups: ['system:masters', 'system:authenticated'],
} as const;

export const ADMIN_GROUP = 'system:masters';

const TOKEN_BYTES = 32;
/** base64url of 32 bytes, nothing else: a token file with anything else in it is refused. */
const TOKEN_FORM = /^[A-Za-z0-9_-]{43}$/;

/** A new admin token: 256 random bits, base64url (43 characters). */
export function newAdminToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The token as read from its file (surrounding whitespace dropped), or an error naming `where`. */
export function parseAdminToken(text: string, where: string): string {
  const token = text.trim();
  if (!TOKEN_FORM.test(token)) throw new Error(`${where}: the admin token must be 43 base64url characters (256 bits), as \`ambientctl cluster up\` writes it`);
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Is `presented` the admin token? Compared as SHA-256 digests with timingSafeEqual: the
 * time taken says nothing about how much of a guess was right, nor about the length.
 */
export function isAdminToken(presented: string, adminToken: string | undefined): boolean {
  if (adminToken === undefined || adminToken === '') return false;
  return timingSafeEqual(digest(presented), digest(adminToken));
}
