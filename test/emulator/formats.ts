// Named string formats of PVE's JSONSchema (pve-common, pve-storage, qemu-server), re-implemented
// from their documented behaviour. A validator returns the Perl `die` text (with its trailing
// newline) or undefined when the value is fine. Formats not listed here are accepted unchecked.
import { isIPv6 } from "node:net";

export type FormatValidator = (value: string) => string | undefined;

const IPV4_OCTET = "(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])";
const IPV4_RE = new RegExp(`^(?:${IPV4_OCTET}\\.){3}${IPV4_OCTET}$`);
const DNS_LABEL = "([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?)";
const DNS_NAME_RE = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
export const VOLUME_ID_RE = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i;

const STORAGE_CONTENT_TYPES = ["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none"];

const isIPv4 = (v: string): boolean => IPV4_RE.test(v);

function cidr(value: string, v6: boolean): boolean {
  const match = /^(.*)\/(\d+)$/.exec(value);
  if (!match) return false;
  const [, address = "", bitsText = ""] = match;
  const bits = Number(bitsText);
  return v6 ? isIPv6(address) && bits > 7 && bits <= 128 : isIPv4(address) && bits > 7 && bits <= 32;
}

function check(ok: boolean, message: string): string | undefined {
  return ok ? undefined : `${message}\n`;
}

const diskSize = (value: string): boolean => /^\d+(\.\d+)?[KMGT]?$/.test(value);

const validators: Record<string, FormatValidator> = {
  string: () => undefined,
  urlencoded: (v) => check(/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v), `invalid urlencoded string: ${v}`),
  "pve-configid": (v) => check(/^[a-z][a-z0-9_-]+$/i.test(v), `invalid configuration ID '${v}'`),
  "pve-storage-id": (v) => check(/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v), `storage ID '${v}' contains illegal characters`),
  "pve-bridge-id": (v) => check(/^[-_.\w\d]+$/.test(v), `invalid bridge ID '${v}'`),
  "pve-vmid": (v) => check(/^[1-9][0-9]{2,8}$/.test(v), "value does not look like a valid VM ID"),
  "pve-node": (v) => check(/^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/.test(v), "value does not look like a valid node name"),
  "mac-addr": (v) =>
    check(/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v), "value does not look like a valid unicast MAC address"),
  ipv4: (v) => check(isIPv4(v), "value does not look like a valid IPv4 address"),
  ipv6: (v) => check(isIPv6(v), "value does not look like a valid IPv6 address"),
  ip: (v) => check(isIPv4(v) || isIPv6(v), "value does not look like a valid IP address"),
  CIDRv4: (v) => check(cidr(v, false), "value does not look like a valid IPv4 CIDR network"),
  CIDRv6: (v) => check(cidr(v, true), "value does not look like a valid IPv6 CIDR network"),
  CIDR: (v) => check(cidr(v, false) || cidr(v, true), "value does not look like a valid CIDR network"),
  "pve-ipv4-config": (v) =>
    check(/^(?:dhcp|manual)$/.test(v) || cidr(v, false), "value does not look like a valid ipv4 network configuration"),
  "pve-ipv6-config": (v) =>
    check(/^(?:auto|dhcp|manual)$/.test(v) || cidr(v, true), "value does not look like a valid ipv6 network configuration"),
  "dns-name": (v) => check(DNS_NAME_RE.test(v), "value does not look like a valid DNS name"),
  address: (v) => check(isIPv4(v) || isIPv6(v) || DNS_NAME_RE.test(v), `value does not look like a valid address: ${v}`),
  "disk-size": (v) => check(diskSize(v), `value does not look like a valid disk size: ${v}`),
  "pve-iface": (v) => check(/^[a-z][a-z0-9_]{1,20}([:.]\d+)?$/i.test(v), `invalid network interface name '${v}'`),
  "pve-tag": (v) => check(/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(v), "invalid characters in tag"),
  // verify_poolname (pve-access-control): nested pools "a/b/c" since 8.1, at most three levels.
  "pve-poolid": (v) =>
    v.split("/").length > 3
      ? `pool name '${v}' nested too deeply (max levels = 3)\n`
      : check(/^[A-Za-z0-9.\-_]+(?:\/[A-Za-z0-9.\-_]+){0,2}$/.test(v), `pool name '${v}' contains invalid characters`),
  "pve-storage-content": (v) => check(STORAGE_CONTENT_TYPES.includes(v), `invalid content type '${v}'`),
  "pve-volume-id": (v) => check(VOLUME_ID_RE.test(v), `unable to parse volume ID '${v}'`),
  "pve-volume-id-or-absolute-path": (v) => check(v.startsWith("/") || VOLUME_ID_RE.test(v), `unable to parse volume ID '${v}'`),
  "pve-volume-id-or-qm-path": (v) =>
    check(v === "none" || v === "cdrom" || v.startsWith("/") || VOLUME_ID_RE.test(v), `unable to parse volume ID '${v}'`),
  "pve-startup-order": (v) =>
    check(
      v.split(",").every((part) => /^\s*$/.test(part) || /^(order=)?\d+$/.test(part) || /^(up|down)=\d+$/.test(part)),
      "unable to parse startup options",
    ),
};

// Formats that PVE registers as property-string hashes under a name; the API dump only shows the
// name, so the keys are spelled out here for the ones whose sub-values matter to clients.
export const namedPropertyFormats: Record<string, Record<string, SubSchema>> = {
  "pve-qm-ipconfig": {
    ip: { type: "string", format: "pve-ipv4-config", optional: 1 },
    gw: { type: "string", format: "ipv4", optional: 1 },
    ip6: { type: "string", format: "pve-ipv6-config", optional: 1 },
    gw6: { type: "string", format: "ipv6", optional: 1 },
  },
  "pve-qm-cicustom": {
    meta: { type: "string", format: "pve-volume-id", optional: 1 },
    network: { type: "string", format: "pve-volume-id", optional: 1 },
    user: { type: "string", format: "pve-volume-id", optional: 1 },
    vendor: { type: "string", format: "pve-volume-id", optional: 1 },
  },
};

export interface SubSchema {
  type?: string;
  optional?: number;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  enum?: string[] | null;
  pattern?: string;
  format?: string | Record<string, SubSchema>;
  minimum?: number | string;
  maximum?: number | string;
  minLength?: number;
  maxLength?: number;
  requires?: string;
}

/** PVE::Tools::split_list: items separated by commas, semicolons or whitespace. */
export function splitList(text: string): string[] {
  if (text.includes("\0")) return text.split("\0");
  return text.replace(/[,;]/g, " ").trim().split(/\s+/).filter((item) => item !== "");
}

export function namedValidator(name: string): FormatValidator | undefined {
  return validators[name];
}

/**
 * Derives a property-string format from a `typetext` such as
 * `[gw=<GatewayIPv4>] [,ip=<IPv4Format/CIDR>]` or `[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]`.
 * Only key names, the default key, required keys and plain enums are recovered.
 */
export function formatFromTypetext(typetext: string | undefined): Record<string, SubSchema> | undefined {
  if (!typetext || !typetext.includes("=")) return undefined;
  const element = /(\[)?,?(\[)?([A-Za-z0-9_\-]+)=(\])?<([^>]*)>(\])?/g;
  const format: Record<string, SubSchema> = {};
  for (const match of typetext.matchAll(element)) {
    const [, open1, open2, key = "", defaultKeyClose, valueText = "", close] = match;
    const isDefaultKey = defaultKeyClose === "]";
    const optional = isDefaultKey ? open1 !== undefined && open2 !== undefined : open1 !== undefined || close !== undefined;
    const sub: SubSchema = { type: "string" };
    if (optional) sub.optional = 1;
    if (isDefaultKey) sub.default_key = 1;
    const alternatives = valueText.split("|");
    if (valueText === "1|0") sub.type = "boolean";
    else if (valueText === "integer") sub.type = "integer";
    else if (valueText === "number") sub.type = "number";
    else if (alternatives.length > 1 && alternatives.every((alt) => /^[a-z0-9_.\/-]+$/.test(alt))) sub.enum = alternatives;
    format[key] = sub;
  }
  return Object.keys(format).length > 0 ? format : undefined;
}
