import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses remote images may be fetched from. A dataset scraped from the web can point
 * `img_path` at `http://169.254.169.254/` (cloud metadata), `http://localhost:6379/` or a host on
 * the local network: by default only global unicast addresses are reached. IPv4-mapped IPv6 is
 * judged as the IPv4 it carries; NAT64, 6to4 and Teredo addresses (which embed another address)
 * are refused.
 */

/** Global unicast: not loopback, private, link-local (169.254/16, fe80::/10), CGNAT, unique-local, multicast, reserved or unspecified. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** A refused address, as the error a connection attempt fails with. */
export class AddressRefusedError extends Error {
  readonly code = 'E_ADDRESS_REFUSED';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that resolves as usual, then refuses the connection if any address
 * the name resolves to is not allowed. The address checked is the address connected to, so a
 * name that resolves to a public address for a check and a private one for the connection (DNS
 * rebinding) cannot slip through.
 */
export function guardedLookup(allow: (address: string) => boolean) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true } as { all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const refused = addresses.find((a) => !allow(a.address));
      if (refused || addresses.length === 0) {
        return callback(new AddressRefusedError(`${hostname} resolves to ${refused?.address ?? 'no address'}, which is not a public address (--remote-allow-private allows it)`), '');
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** The literal IP of a URL's host (`[::1]` unbracketed), or null for a name. */
export function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}
