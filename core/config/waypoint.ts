// Names shared by the controller and the waypoint.

/** The Service key (`<namespace>/<hostname>`) of the waypoint Gateway `name`'s Service. */
export function waypointServiceKey(namespace: string, name: string, clusterDomain: string): string {
  return `${namespace}/${name}.${namespace}.svc.${clusterDomain}`;
}
