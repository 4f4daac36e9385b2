// The mesh's port numbers and socket mark, in one table (DESIGN.md section 3, "Ports"; the
// same numbers as Istio's ztunnel and istiod, so that operators' habits and
// NetworkPolicies carry over). Every program and the capture rules take them from here.

export const MESH_PORTS = {
  /** Pod netns: outbound capture (the pod's iptables REDIRECT its outgoing TCP here). */
  outbound: 15001,
  /** Pod netns: inbound plaintext capture (TCP to the pod that did not arrive over HBONE). */
  inboundPlaintext: 15006,
  /** Pod netns and waypoints: HBONE (mTLS, HTTP/2 CONNECT). */
  hbone: 15008,
  /** Pod netns, 127.0.0.1: the DNS proxy (UDP and TCP). */
  dns: 15053,
  /** Node agent and waypoint, localhost only: admin (config dump, log level). */
  admin: 15000,
  /** Node agent, waypoint, controller: Prometheus /metrics. */
  metrics: 15020,
  /** Node agent and waypoint: /healthz/ready. */
  readiness: 15021,
  /** Controller: the config stream and certificate signing (TLS). */
  controller: 15012,
  /** Controller: the HTTPS API (/api/v1) and the web console (/), on the controller's Service. */
  api: 15014,
} as const;

/** SO_MARK on the node agent's own sockets inside pods: the capture lets them through
 * (Istio's 0x539). */
export const AGENT_SOCKET_MARK = 0x539;
