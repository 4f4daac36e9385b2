// PeerAuthentication -> a workload's mTLS mode. The rules live in
// core/config/peer-authentication.ts, shared with the node agent (which decides alone for
// a pod announced before the config speaks of it); here they report into the
// translation's Problems.
import { indexPeerAuthentications as index, type MtlsIndex} from '../../core/config/peer-authentication.js';
import type { PeerAuthentication } from './input.js';
import type { Problems } from './objects.js';

export type { MtlsIndex } from '../../core/config/peer-authentication.js';

const KIND = 'PeerAuthentication';

export function indexPeerAuthentications(policies: readonly PeerAuthentication[], rootNamespace: string, problems: Problems): MtlsIndex {
  return index(policies, rootNamespace, (key, message) => problems.report(KIND, key, message));
}
