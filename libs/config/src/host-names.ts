import { isIP } from 'node:net';
import type { TributaryConfig } from './tributary-config';

type HostSettings = Pick<TributaryConfig['api'], 'host' | 'allowedHosts'>;

/**
 * The name in a `Host` header that this process must not answer to, or undefined to serve it: the DNS
 * rebinding rule shared by the API and the standalone /metrics server. A page of evil.example whose name
 * now resolves to 127.0.0.1 reads a local server as its own origin, but its requests carry
 * `Host: evil.example`. Answered are loopback names, IP addresses (a rebinding needs a name the attacker
 * controls), the name the server is bound to and the configured names. No `Host` (HTTP/1.0) is no browser.
 */
export function foreignHostName(hostHeader: string | undefined, api: HostSettings): string | undefined {
  if (!hostHeader) return undefined;
  const name = hostName(hostHeader.toLowerCase());
  return allowedHost(name, api) ? undefined : name;
}

/** `[::1]:3000` -> `::1`, `localhost.:3000` -> `localhost`. */
function hostName(host: string): string {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0];
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function allowedHost(name: string, api: HostSettings): boolean {
  if (isIP(name) || name === 'localhost' || name.endsWith('.localhost') || name === api.host.toLowerCase()) return true;
  return api.allowedHosts.some(
    (h) => h === '*' || h === name || (h.startsWith('.') && (name.endsWith(h) || name === h.slice(1))),
  );
}
