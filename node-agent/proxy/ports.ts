// The ports the node agent listens on inside every enrolled pod's network namespace
// (DESIGN.md section 3, "Ports"; numbers from core/ports.ts).
import { MESH_PORTS } from '../../core/ports.js';

export const AGENT_PORTS = {
  /** Outbound capture: the pod's iptables REDIRECT its outgoing TCP here. */
  outbound: MESH_PORTS.outbound,
  /** Inbound plaintext capture: TCP to the pod that did not arrive over HBONE. */
  inboundPlaintext: MESH_PORTS.inboundPlaintext,
  /** HBONE: mTLS + HTTP/2 CONNECT, the tunnels between agents and waypoints. */
  hbone: MESH_PORTS.hbone,
  /** DNS proxy, UDP and TCP, on 127.0.0.1 in the pod. */
  dns: MESH_PORTS.dns,
} as const;

const AGENT_PORT_SET: ReadonlySet<number> = new Set(Object.values(AGENT_PORTS));

/** A connection to one of these ports of an enrolled pod would be served by the agent
 * itself, not by the app: ztunnel calls these "illegal ports" and refuses them, in both
 * directions, so that a tunnel can never be nested in a tunnel or loop through the agent
 * (ztunnel src/config.rs `illegal_ports`; we add the DNS port, which ztunnel reaches
 * only on loopback). */
export function isAgentPort(port: number): boolean {
  return AGENT_PORT_SET.has(port);
}
