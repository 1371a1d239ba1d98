// Last line of defence: every string a reporter prints passes through redact(),
// so a secret that sneaks into an error message (a token echoed back by an API,
// a URL with credentials) is printed as *** instead.

const registry = new Set<string>();

/** Remembers a secret value for the rest of the process; empty values are ignored. */
export function registerSecret(value: string): void {
  if (value !== "") registry.add(value);
}

export function registeredSecrets(): string[] {
  return [...registry];
}

export function redact(text: string, secrets: readonly string[] = registeredSecrets()): string {
  let out = text;
  for (const form of printedForms(secrets)) out = out.split(form).join("***");
  return out;
}

/** A secret as it may appear in text: raw, URL-encoded, or escaped inside a JSON string. Longest first, so no part of a longer form survives a shorter one. */
function printedForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}
