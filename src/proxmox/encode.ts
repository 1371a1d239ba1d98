// Request encoding the way pve-http-server decodes it: GET/DELETE parameters in the query
// string, POST/PUT parameters as an application/x-www-form-urlencoded body (both decoded by
// the same routine on the server).
//
// - booleans → 1 / 0 (the string "true" fails PVE's type check)
// - numbers  → decimal text; NaN and ±Infinity are refused
// - arrays   → items joined with "," — every PVE "-list" format (tags, delete, nameserver,
//              content …) splits on "," ";" or whitespace, so items may not contain those
// - undefined → the parameter is left out
// Percent-encoding uses %20 for spaces, never "+".

export type ParamValue = string | number | boolean | readonly (string | number)[] | undefined;
export type Params = Readonly<Record<string, ParamValue>>;

export function encodeParams(params: Params | undefined): string {
  if (params === undefined) return "";
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(paramText(name, value))}`);
  }
  return pairs.join("&");
}

function paramText(name: string, value: Exclude<ParamValue, undefined>): string {
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return numberText(name, value);
  if (typeof value === "string") return value;
  return value.map((item) => {
    const text = typeof item === "number" ? numberText(name, item) : item;
    if (/[,;\s]/.test(text) || text === "") {
      throw new TypeError(`parameter ${name}: list item ${JSON.stringify(text)} is empty or contains a list separator (, ; or whitespace)`);
    }
    return text;
  }).join(",");
}

function numberText(name: string, n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`parameter ${name}: ${n} is not a finite number`);
  return String(n);
}

/**
 * Builds an API path with every interpolated value percent-encoded as one path segment, so
 * UPIDs (":" "!" "@") and volume ids ("local:iso/x.iso") stay single segments:
 * apiPath`/nodes/${node}/tasks/${upid}/status`.
 */
export function apiPath(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  let path = strings[0] ?? "";
  values.forEach((value, i) => {
    path += encodeURIComponent(String(value)) + (strings[i + 1] ?? "");
  });
  return path;
}

// Unreserved characters, percent-escapes and the sub-delimiters/":"/"@" RFC 3986 allows in segments.
const ENCODED_PATH = /^(\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+)+$/;

/** True when `path` is an absolute, already-encoded API path (no query, fragment, empty or dot segments). */
export function isEncodedApiPath(path: string): boolean {
  return ENCODED_PATH.test(path) && !/\/\.{1,2}(\/|$)/.test(path);
}
