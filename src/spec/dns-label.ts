const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(name: string): boolean {
  return DNS_LABEL.test(name);
}

/** The closest DNS label to a rejected name: "Lb_02" → "lb-02". Empty when nothing is left. */
function toDnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
}

/** Why a name is not a DNS label, in words, with a corrected name when there is one. */
export function dnsLabelHint(name: string): string {
  const reason = name.includes("_")
    ? 'Proxmox refuses "_" in names; use "-"'
    : /[A-Z]/.test(name)
      ? "use lowercase letters"
      : name.length > 63
        ? "at most 63 characters"
        : 'use lowercase letters, digits and "-", with a letter or digit at both ends';
  const fixed = toDnsLabel(name);
  return fixed === "" || fixed === name ? reason : `${reason}, e.g. "${fixed}"`;
}
